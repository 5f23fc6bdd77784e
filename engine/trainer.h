// The training loop: batches from the loader, forward/backward with gradient accumulation,
// one division by the example count, clipping, the LR schedule and the optimizer; validation
// each epoch (or every N steps) with early stopping on a chosen metric, keeping the best model;
// checkpoints (every N steps and at epoch ends) with exact resume; learning curves; and the
// test-split report at the end. Deterministic given --seed and --threads.
//
// Run directory (--out):
//   config.yaml          the resolved configuration
//   checkpoints/ckpt-<step>.h5   the newest --keep-last checkpoints
//   best.h5              the best model by --early-stop-metric (or the last, without validation)
//   curves.csv, curves.jsonl     per validation: epoch, step, train and validation metrics, lr
//   steps.jsonl          per optimizer step: step, epoch, loss, lr (what resume tests compare)
//   test_report.json     the test split's report for best.h5 (when the dataset has a test split)
#pragma once

#include <functional>
#include <nlohmann/json.hpp>
#include <string>

#include "comm/communicator.h"
#include "engine/model_runner.h"
#include "engine/train_config.h"

namespace engine {

using LogFunction = std::function<void(const std::string&)>;

struct TrainOutcome {
  bool interrupted = false;  // stopped on request: checkpointed, resumable with --resume auto
  std::int64_t steps = 0;
  int epochs_completed = 0;
  bool stopped_early = false;
  bool stopped_by_hook = false;  // hooks.after_epoch said stop
  double best_metric = 0;
  double test_accuracy = -1;  // -1: no test split
  // Throughput of the optimizer steps (validation and checkpoints excluded), all ranks together,
  // and the time this rank spent in gradient/metric reductions (not hidden behind compute).
  double train_seconds = 0;
  double samples_per_second = 0;
  double communication_seconds = 0;
};

// Asked after every optimizer step (with the step count): true checkpoints and returns.
using StopRequest = std::function<bool(std::int64_t step)>;

// What a caller (engine_tune) decides after each epoch.
enum class EpochDecision {
  keep_going,
  stop,   // finish now: the best model, the test report, as if the epochs had run out
  pause,  // return now, interrupted and resumable (the epoch's checkpoint is written)
};

struct TrainHooks {
  // Called on every rank after each epoch's validation and checkpoint with the epochs done, the
  // step and the validation's curves.jsonl record; every rank must return the same decision.
  std::function<EpochDecision(int epochs_done, std::int64_t step, const nlohmann::json& curves)>
      after_epoch;
  // Builds the model runner instead of --device (tests: the device path on the CPU backend).
  std::function<std::unique_ptr<ModelRunner>(const ModelConfig&)> make_runner;
};

// Runs training as configured; throws io::DataError or std::runtime_error with a clear message.
// With a communicator of N ranks (mpirun -np N), each rank trains on its stride of every epoch
// with --batch-size examples per step, gradients and metrics are summed across ranks and divided
// by the global example count in one place, and only rank 0 writes files. Every rank must be
// started with the same configuration and dataset (checked at start-up).
TrainOutcome train(const TrainConfig& config, const LogFunction& info, const LogFunction& warn,
                   const StopRequest& stop_requested = {}, comm::Communicator* comm = nullptr,
                   const TrainHooks& hooks = {});

}  // namespace engine
