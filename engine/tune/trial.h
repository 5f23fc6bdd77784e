// One trial of a tune as the coordinator tracks it (saved in DIR/tune_state.json).
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <utility>
#include <vector>

namespace engine::tune {

enum class TrialStatus { running, finished, stopped, failed, interrupted };

const char* status_name(TrialStatus status);
TrialStatus parse_status(const std::string& name);

struct Trial {
  int id = 0;
  nlohmann::json params;  // the searched values (the rest is fixed)
  TrialStatus status = TrialStatus::running;
  std::vector<std::pair<int, double>> scores;  // (epochs done, score: higher is better)
  int bracket = 0;                             // ASHA
  std::vector<nlohmann::json> exploits;        // PBT: {epoch, donor, params}
  double started_s = 0, ended_s = 0;           // seconds since the tune began
  std::string owner;  // who runs it when tasks share the state file (a Slurm array task)

  double best_score() const;  // -inf without scores
  double last_score() const;  // -inf without scores
  int epochs() const { return scores.empty() ? 0 : scores.back().first; }

  nlohmann::json to_json() const;
  static Trial from_json(const nlohmann::json& j);
};

}  // namespace engine::tune
