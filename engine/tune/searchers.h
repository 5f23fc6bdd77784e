// Searchers propose trial configurations. Each is deterministic given its seed, the trial's
// index and the results it is shown, so a resumed tune proposes what the first run would have.
//   grid    every combination of the grid/choice parameters exactly once (numeric parameters
//           drawn at random for each point); then it is exhausted
//   random  independent draws from the space
//   tpe     Tree-structured Parzen Estimator (Bergstra et al. 2011), multivariate as Optuna's
//           default: after a few random trials, the parameters every trial has are drawn
//           together to maximise l(x)/g(x), where l and g are Parzen densities of the
//           configurations that scored in the best fraction of finished trials and of the rest
//           (conditional parameters each on their own)
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "engine/tune/search_space.h"

namespace engine::tune {

struct Observation {
  nlohmann::json params;
  double loss;  // lower is better (a metric to maximise is negated)
};

class Searcher {
 public:
  virtual ~Searcher() = default;
  // The configuration of trial `index` (0-based), or nothing when the searcher is exhausted.
  virtual std::optional<nlohmann::json> suggest(int index,
                                                const std::vector<Observation>& history) = 0;
};

struct TpeOptions {
  int startup_trials = 10;  // random proposals before the model is used
  int candidates = 24;      // draws from l(x) per parameter
  double gamma = 0.1;       // the "good" fraction of observations
};

// name: grid, random or tpe; throws std::invalid_argument for another.
std::unique_ptr<Searcher> make_searcher(const std::string& name, const SearchSpace& space,
                                        std::uint64_t seed, const TpeOptions& tpe = {});

// The generator a searcher uses for trial `index`: independent streams per trial.
std::mt19937_64 trial_random(std::uint64_t seed, int index, std::uint64_t stream = 0);

}  // namespace engine::tune
