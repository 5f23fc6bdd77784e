// Schedulers decide, each time a trial reports an epoch's score, whether it goes on.
//   none  every trial runs all its epochs
//   asha  asynchronous successive halving (Li et al. 2018, as Ray Tune's AsyncHyperBand): rungs
//         at grace * eta^k epochs; a trial reaching a rung stops unless its score is in the top
//         1/eta of the scores recorded there so far; `brackets` Hyperband brackets start their
//         rungs at grace * eta^s (trials are dealt to brackets in turn)
//   pbt   Population-Based Training (Jaderberg et al. 2017): every `interval` epochs a trial in
//         the bottom `quantile` of the scores the population had after that many epochs copies
//         the checkpoint a random trial of the top quantile wrote then (exploit) and perturbs its
//         hyperparameters (explore: numbers x0.8 or x1.2, choices to a neighbour, or resampled
//         with `resample_probability`); never at the last epoch
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "engine/tune/search_space.h"
#include "engine/tune/trial.h"

namespace engine::tune {

enum class Action { keep_going, stop, exploit };

struct Decision {
  Action action = Action::keep_going;
  int donor = -1;         // exploit: whose checkpoint to continue from,
  int donor_epoch = 0;    //   the one it wrote after this many epochs
  nlohmann::json params;  // exploit: the perturbed hyperparameters
};

struct AshaOptions {
  int grace_period = 1;
  int reduction_factor = 3;
  int brackets = 1;
};

struct PbtOptions {
  int interval = 1;
  double quantile = 0.25;
  double resample_probability = 0.25;
};

class Scheduler {
 public:
  virtual ~Scheduler() = default;
  virtual void on_start(Trial& trial) { trial.bracket = 0; }
  // `trial` has just recorded (epoch, score); `trials` is every trial, this one included.
  virtual Decision on_report(const Trial& trial, int epoch, double score,
                             const std::vector<Trial>& trials) = 0;
  virtual nlohmann::json state() const { return nullptr; }
  virtual void restore(const nlohmann::json&) {}
};

// name: none, asha or pbt; max_epochs is every trial's --epochs.
std::unique_ptr<Scheduler> make_scheduler(const std::string& name, int max_epochs,
                                          const AshaOptions& asha, const PbtOptions& pbt,
                                          const SearchSpace& space, std::uint64_t seed);

// The value at fraction q in [0, 1] of the sorted values, linearly interpolated (numpy's
// percentile(values, 100 q)).
double quantile(std::vector<double> values, double q);

}  // namespace engine::tune
