#include "engine/tune/search_space.h"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cmath>
#include <stdexcept>

namespace engine::tune {

using nlohmann::json;

namespace {

// A YAML scalar as JSON: booleans, integers and floats become numbers, the rest strings.
json scalar_json(const YAML::Node& node) {
  const std::string text = node.as<std::string>();
  if (node.Tag() == "!") return text;  // quoted in the file: a string
  if (text == "true" || text == "True") return true;
  if (text == "false" || text == "False") return false;
  try {
    std::size_t used = 0;
    const long long integer = std::stoll(text, &used);
    if (used == text.size()) return integer;
    const double real = std::stod(text, &used);
    if (used == text.size()) return real;
  } catch (const std::exception&) {
  }
  return text;
}

}  // namespace

double Parameter::to_unit(double value) const {
  if (kind == Distribution::loguniform)
    return (std::log(value) - std::log(low)) / (std::log(high) - std::log(low));
  return high > low ? (value - low) / (high - low) : 0.0;
}

double Parameter::from_unit(double unit) const {
  unit = std::clamp(unit, 0.0, 1.0);
  switch (kind) {
    case Distribution::loguniform:
      return std::exp(std::log(low) + unit * (std::log(high) - std::log(low)));
    case Distribution::quniform: {
      const double v = low + std::round(unit * (high - low) / step) * step;
      return std::clamp(v, low, high);
    }
    case Distribution::randint:
      return std::clamp(std::floor(low + unit * (high - low + 1)), low, high);
    default:
      return low + unit * (high - low);
  }
}

// The parsed file itself (not a re-emitted copy, which would lose which scalars were quoted).
SearchSpace SearchSpace::from_yaml_file(const std::string& path) {
  try {
    return from_node(YAML::LoadFile(path), path);
  } catch (const YAML::Exception& e) {
    throw std::invalid_argument("--space " + path + ": " + e.what());
  }
}

SearchSpace SearchSpace::from_yaml_text(const std::string& text, const std::string& origin) {
  try {
    return from_node(YAML::Load(text), origin);
  } catch (const YAML::Exception& e) {
    throw std::invalid_argument(origin + ": " + e.what());
  }
}

SearchSpace SearchSpace::from_node(const YAML::Node& root, const std::string& origin) {
  if (!root.IsMap() || root.size() == 0)
    throw std::invalid_argument(origin + ": expected a map of option: {distribution: ...}");
  SearchSpace space;
  for (const auto& entry : root) {
    std::string name = entry.first.as<std::string>();
    std::replace(name.begin(), name.end(), '-', '_');
    const auto bad = [&](const std::string& why) {
      throw std::invalid_argument(origin + ": " + name + ": " + why);
    };
    const YAML::Node& spec = entry.second;
    if (!spec.IsMap()) bad("expected {uniform|loguniform|quniform|randint|choice|grid: [...]}");
    Parameter p{.name = name,
                .kind = Distribution::choice,
                .low = 0,
                .high = 0,
                .step = 0,
                .values = {},
                .when = {}};
    int kinds = 0;
    for (const auto& field : spec) {
      const std::string key = field.first.as<std::string>();
      const YAML::Node& v = field.second;
      if (key == "when") {
        if (!v.IsMap()) bad("'when' must map parameter names to lists of values");
        for (const auto& cond : v) {
          std::string other = cond.first.as<std::string>();
          std::replace(other.begin(), other.end(), '-', '_');
          std::vector<json> allowed;
          if (cond.second.IsSequence()) {
            for (const auto& x : cond.second) allowed.push_back(scalar_json(x));
          } else {
            allowed.push_back(scalar_json(cond.second));
          }
          p.when.emplace_back(other, allowed);
        }
        continue;
      }
      ++kinds;
      if (!v.IsSequence()) bad("'" + key + "' takes a list");
      std::vector<json> list;
      for (const auto& x : v) list.push_back(scalar_json(x));
      const auto numbers = [&](std::size_t count) {
        if (list.size() != count) bad("'" + key + "' takes " + std::to_string(count) + " numbers");
        for (const auto& x : list)
          if (!x.is_number()) bad("'" + key + "' takes numbers");
        p.low = list[0].get<double>();
        p.high = list[1].get<double>();
        if (!(p.low <= p.high)) bad("low must not exceed high");
      };
      if (key == "uniform") {
        p.kind = Distribution::uniform;
        numbers(2);
      } else if (key == "loguniform") {
        p.kind = Distribution::loguniform;
        numbers(2);
        if (!(p.low > 0)) bad("loguniform needs low > 0");
      } else if (key == "quniform") {
        p.kind = Distribution::quniform;
        numbers(3);
        p.step = list[2].get<double>();
        if (!(p.step > 0)) bad("quniform needs a step > 0");
      } else if (key == "randint") {
        p.kind = Distribution::randint;
        numbers(2);
        if (!list[0].is_number_integer() || !list[1].is_number_integer())
          bad("randint takes integers");
      } else if (key == "choice" || key == "grid") {
        p.kind = key == "choice" ? Distribution::choice : Distribution::grid;
        if (list.empty()) bad("'" + key + "' needs at least one value");
        p.values = list;
      } else {
        bad("unknown distribution '" + key +
            "' (uniform, loguniform, quniform, randint, choice, grid)");
      }
    }
    if (kinds != 1) bad("give exactly one distribution");
    space.parameters_.push_back(std::move(p));
  }
  for (const Parameter& p : space.parameters_) {
    for (const auto& [other, allowed] : p.when) {
      if (space.find(other) == nullptr)
        throw std::invalid_argument(origin + ": " + p.name + ": 'when' names " + other +
                                    ", which is not in the space");
    }
  }
  return space;
}

const Parameter* SearchSpace::find(const std::string& name) const {
  for (const auto& p : parameters_)
    if (p.name == name) return &p;
  return nullptr;
}

json SearchSpace::sample_one(const Parameter& p, std::mt19937_64& random) const {
  if (!p.numeric()) {
    std::uniform_int_distribution<std::size_t> pick(0, p.values.size() - 1);
    return p.values[pick(random)];
  }
  const double v = p.from_unit(std::uniform_real_distribution<double>(0.0, 1.0)(random));
  return p.integer() ? json(static_cast<long long>(v)) : json(v);
}

json SearchSpace::sample(std::mt19937_64& random) const {
  json config = json::object();
  for (const auto& p : parameters_) config[p.name] = sample_one(p, random);
  return apply_conditions(config);
}

json SearchSpace::apply_conditions(json config) const {
  for (const auto& p : parameters_) {
    for (const auto& [other, allowed] : p.when) {
      const bool holds = config.contains(other) &&
                         std::find(allowed.begin(), allowed.end(), config[other]) != allowed.end();
      if (!holds) {
        config.erase(p.name);
        break;
      }
    }
  }
  return config;
}

std::vector<json> SearchSpace::grid_points() const {
  std::vector<json> points = {json::object()};
  for (const auto& p : parameters_) {
    if (p.numeric()) continue;
    std::vector<json> next;
    for (const auto& point : points) {
      for (const auto& v : p.values) {
        json extended = point;
        extended[p.name] = v;
        next.push_back(extended);
      }
    }
    points = std::move(next);
  }
  return points;
}

}  // namespace engine::tune
