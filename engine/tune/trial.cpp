#include "engine/tune/trial.h"

#include <algorithm>
#include <limits>
#include <stdexcept>

namespace engine::tune {

namespace {
constexpr const char* kNames[] = {"running", "finished", "stopped", "failed", "interrupted"};
}

const char* status_name(TrialStatus status) {
  return kNames[static_cast<int>(status)];
}

TrialStatus parse_status(const std::string& name) {
  for (int k = 0; k < 5; ++k)
    if (name == kNames[k]) return static_cast<TrialStatus>(k);
  throw std::invalid_argument("unknown trial status '" + name + "'");
}

double Trial::best_score() const {
  double best = -std::numeric_limits<double>::infinity();
  for (const auto& [epoch, score] : scores) best = std::max(best, score);
  return best;
}

double Trial::last_score() const {
  return scores.empty() ? -std::numeric_limits<double>::infinity() : scores.back().second;
}

nlohmann::json Trial::to_json() const {
  return {{"id", id},
          {"params", params},
          {"status", status_name(status)},
          {"scores", scores},
          {"bracket", bracket},
          {"exploits", exploits},
          {"started_s", started_s},
          {"ended_s", ended_s},
          {"owner", owner}};
}

Trial Trial::from_json(const nlohmann::json& j) {
  Trial t;
  t.id = j.at("id");
  t.params = j.at("params");
  t.status = parse_status(j.at("status"));
  t.scores = j.at("scores").get<std::vector<std::pair<int, double>>>();
  t.bracket = j.at("bracket");
  t.exploits = j.at("exploits").get<std::vector<nlohmann::json>>();
  t.started_s = j.at("started_s");
  t.ended_s = j.at("ended_s");
  t.owner = j.value("owner", "");
  return t;
}

}  // namespace engine::tune
