// Runs a tune: `mpirun -np N engine_tune ... --ranks-per-trial G` splits the ranks into N/G
// groups (MPI_Comm_split); each group trains one trial at a time, data-parallel, in-process
// through engine::train, and its leader reports every epoch's metric to the coordinator, which
// answers keep going, stop (ASHA) or exploit (PBT: continue from another trial's checkpoint
// with perturbed hyperparameters). The coordinator lives on a thread of world rank 0 (rank 0's
// own group calls it directly); its state is saved to DIR/tune_state.json after every change,
// so a tune started again with the same command resumes: finished trials are kept, interrupted
// ones continue from their checkpoints.
//
// DIR/trials/trial-NNNN/   each trial's engine_train run directory
// DIR/results.csv, .json   every trial: status, epochs, best metric, hyperparameters
// DIR/best.yaml            the best trial's configuration, ready for engine_train --config
// DIR/plots/tune.svg       metric per trial and best so far; report.html
#pragma once

#include <string>

#include "comm/communicator.h"
#include "engine/train_config.h"
#include "engine/trainer.h"
#include "engine/tune/coordinator.h"

namespace engine::tune {

struct TuneOptions {
  std::string space_path;
  std::string out;  // the tune directory
  int ranks_per_trial = 1;
  // One task of a Slurm job array (cluster/slurm/tune_array.sbatch): train one trial, sharing
  // the coordinator's state with the other tasks through DIR/tune_state.json under a file lock.
  bool array_task = false;
  TuneSettings settings;
  TrainConfig base;  // every trial's fixed options (out, resume and tracking are set per trial)
};

struct TuneSummary {
  int trials = 0;
  int best_trial = -1;
  double best_metric = 0;
};

// Collective over `world`. Throws std::invalid_argument / std::runtime_error with a clear message.
TuneSummary run_tune(const TuneOptions& options, comm::Communicator& world, const LogFunction& info,
                     const LogFunction& warn);

// The engine_train configuration of a trial: `base` with the trial's values applied as flags.
TrainConfig trial_config(const TrainConfig& base, const nlohmann::json& params,
                         const std::string& out);

}  // namespace engine::tune
