// A search space over engine_train options, from YAML:
//
//   lr:            {loguniform: [1.0e-4, 1.0e-2]}
//   dropout:       {uniform: [0.0, 0.5]}
//   weight_decay:  {quniform: [0.0, 0.1, 0.01]}    # low, high, step
//   hidden:        {choice: [64, 128, 256]}
//   cell:          {grid: [lstm, gru]}              # every value, exactly once per grid pass
//   layers:        {randint: [1, 3], when: {cell: [lstm, gru]}}   # [low, high], inclusive
//
// Keys are engine_train option names ('-' or '_'). A parameter with `when` is only set when the
// named parameters hold one of the listed values (otherwise engine_train's value applies).
// Sampled values are JSON: numbers, strings or booleans, as the YAML wrote them.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <random>
#include <string>
#include <vector>

namespace YAML {
class Node;
}

namespace engine::tune {

enum class Distribution { uniform, loguniform, quniform, randint, choice, grid };

struct Parameter {
  std::string name;  // option name with '_' (as in TrainConfig::to_json)
  Distribution kind;
  double low = 0, high = 0, step = 0;                                     // numeric kinds
  std::vector<nlohmann::json> values;                                     // choice, grid
  std::vector<std::pair<std::string, std::vector<nlohmann::json>>> when;  // all must hold

  bool numeric() const { return kind != Distribution::choice && kind != Distribution::grid; }
  bool integer() const { return kind == Distribution::randint; }
  // The value's position in [0, 1] (numeric kinds; log scale for loguniform).
  double to_unit(double value) const;
  double from_unit(double unit) const;  // rounded / stepped / clamped for the kind
};

class SearchSpace {
 public:
  // Throws std::invalid_argument naming the file, key and problem.
  static SearchSpace from_yaml_file(const std::string& path);
  static SearchSpace from_yaml_text(const std::string& text, const std::string& origin);

  const std::vector<Parameter>& parameters() const { return parameters_; }
  const Parameter* find(const std::string& name) const;

  // A random configuration (grid parameters drawn like choices).
  nlohmann::json sample(std::mt19937_64& random) const;
  // Drops the parameters whose `when` does not hold for the others.
  nlohmann::json apply_conditions(nlohmann::json config) const;
  // Every combination of the grid and choice parameters (in file order, last fastest).
  std::vector<nlohmann::json> grid_points() const;
  // A single parameter's random value.
  nlohmann::json sample_one(const Parameter& p, std::mt19937_64& random) const;

 private:
  static SearchSpace from_node(const YAML::Node& root, const std::string& origin);

  std::vector<Parameter> parameters_;
};

}  // namespace engine::tune
