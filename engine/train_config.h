// Everything a training run is configured by, settable as command-line flags and in a YAML
// file (`--config FILE`; keys are the flag names, with '-' or '_'); flags override the file.
// The resolved configuration is printed, saved in the run directory and in every checkpoint.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>

#include "engine/lr_schedule.h"
#include "engine/model_config.h"
#include "engine/optimizer.h"

namespace CLI {
class App;
}

namespace engine {

struct TrainConfig {
  std::string data;
  std::string out;
  std::string config_file;

  // Model (vocabulary size and class count come from the dataset).
  std::string cell = "lstm";
  int embed = 128;
  int hidden = 256;
  int layers = 1;
  bool bidirectional = false;
  float dropout = 0.0f;
  std::string readout = "last";
  int dense_hidden = 0;
  std::string dense_activation = "relu";
  float label_smoothing = 0.0f;
  std::vector<float> class_weights;

  // Optimisation.
  std::string optimizer = "adam";
  double lr = 1e-3;
  double weight_decay = 0.0;
  double momentum = 0.9;  // SGD only
  bool nesterov = false;
  double beta1 = 0.9, beta2 = 0.999, eps = 1e-8;
  std::string schedule = "constant";
  std::int64_t warmup_steps = 0;
  std::int64_t step_size = 1000;
  double gamma = 0.1;
  double min_lr = 0.0;
  int epochs = 5;
  std::size_t batch_size = 64;
  int accum_steps = 1;
  double clip_norm = 0.0;
  std::int64_t max_steps = 0;  // stop after this many optimizer steps (0: no limit)

  // Data.
  std::size_t bucket_batches = 50;   // length bucketing window, in batches (0: off)
  double allreduce_bucket_mb = 1.0;  // gradient buckets reduced during backward (0: after it)
  std::size_t allreduce_bucket_floats() const {
    return static_cast<std::size_t>(allreduce_bucket_mb * 1024 * 1024 / sizeof(float));
  }

  // Evaluation and early stopping.
  std::int64_t eval_every = 0;  // optimizer steps between validations (0: once per epoch)
  std::string early_stop_metric = "valid_macro_f1";
  int patience = 0;  // evaluations without improvement before stopping (0: never stop early)

  // Runtime.
  std::string device = "cpu";       // cpu or cuda
  std::string precision = "fp32";   // fp16: mixed precision with loss scaling (cuda only)
  std::string rnn_impl = "custom";  // cuda: custom kernels + cuBLAS, or cudnn (LSTM/GRU)
  int threads = 1;
  std::uint64_t seed = 1;
  std::int64_t checkpoint_every = 0;  // optimizer steps (0: at the end of each epoch only)
  int keep_last = 3;
  std::string resume;  // "auto" or a checkpoint file
  int log_every = 50;
  bool quiet = false;
  std::string log_level = "info";  // debug, info, warn, error
  bool log_all_ranks = false;      // each rank also logs to OUT/logs/rank-N.log

  // Tracking (rank 0).
  std::string tensorboard;  // event file directory
  std::string mlflow;       // file: store or http(s) tracking server
  std::string mlflow_experiment = "engine";
  std::string run_name;           // MLflow run name (default: the run directory's name)
  std::string mlflow_parent_run;  // makes the MLflow run a child of this run id (engine_tune)
  int metrics_port = -1;          // Prometheus endpoint (-1: off, 0: any free port)
  std::string metrics_host = "0.0.0.0";
  std::string timeline;  // Chrome-trace file of every rank's phases

  ModelConfig model_config(std::int64_t vocab_size, int classes) const;
  OptimizerConfig optimizer_config() const;
  LrSchedule lr_schedule(std::int64_t total_steps) const;
  void validate() const;  // throws std::invalid_argument naming the option

  nlohmann::json to_json() const;  // the resolved configuration
  std::string to_yaml() const;
};

// Registers every option on `app`, bound to `config`.
void add_train_options(CLI::App& app, TrainConfig& config);

// Parses argv: reads --config's YAML first, then lets flags override it. Returns false and
// fills `exit_code` when the program should stop (--help, or an error already printed).
bool parse_train_args(CLI::App& app, TrainConfig& config, int argc, char** argv, int& exit_code);

}  // namespace engine
