#include "engine/train_config.h"

#include <yaml-cpp/yaml.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <stdexcept>

namespace engine {

ModelConfig TrainConfig::model_config(std::int64_t vocab_size, int classes) const {
  ModelConfig m;
  m.cell = parse_cell(cell);
  m.vocab_size = vocab_size;
  m.embed = embed;
  m.hidden = hidden;
  m.layers = layers;
  m.bidirectional = bidirectional;
  m.dropout = dropout;
  m.readout = parse_readout(readout);
  m.dense_hidden = dense_hidden;
  m.dense_activation = parse_activation(dense_activation);
  m.classes = classes;
  m.label_smoothing = label_smoothing;
  m.class_weights = class_weights;
  m.validate();
  return m;
}

OptimizerConfig TrainConfig::optimizer_config() const {
  OptimizerConfig o;
  o.kind = parse_optimizer(optimizer);
  o.beta1 = static_cast<float>(beta1);
  o.beta2 = static_cast<float>(beta2);
  o.eps = static_cast<float>(eps);
  o.weight_decay = static_cast<float>(weight_decay);
  o.momentum = static_cast<float>(momentum);
  o.nesterov = nesterov;
  return o;
}

LrSchedule TrainConfig::lr_schedule(std::int64_t total_steps) const {
  LrSchedule s;
  s.kind = parse_schedule(schedule);
  s.base_lr = lr;
  s.warmup_steps = warmup_steps;
  s.step_size = step_size;
  s.gamma = gamma;
  s.min_lr = min_lr;
  s.total_steps = total_steps;
  return s;
}

void TrainConfig::validate() const {
  const auto bad = [](const std::string& option, const std::string& why) {
    throw std::invalid_argument("--" + option + ": " + why);
  };
  if (data.empty()) bad("data", "a dataset directory (made by engine_prep) is required");
  if (out.empty()) bad("out", "a run directory is required");
  if (!(lr > 0)) bad("lr", "must be positive");
  if (epochs < 1) bad("epochs", "must be at least 1");
  if (batch_size < 1) bad("batch-size", "must be at least 1");
  if (accum_steps < 1) bad("accum-steps", "must be at least 1");
  if (clip_norm < 0) bad("clip-norm", "must be >= 0");
  if (threads < 1) bad("threads", "must be at least 1");
  if (allreduce_bucket_mb < 0) bad("allreduce-bucket-mb", "must be >= 0");
  if (precision == "fp16" && device != "cuda") {
    bad("precision",
        "fp16 needs --device cuda: the CPU backend trains in fp32 (CPUs have no fast half "
        "arithmetic to gain from it)");
  }
  if (precision == "tf32" && device != "cuda")
    bad("precision", "tf32 needs --device cuda (TF32 is a GPU tensor-core format)");
  if (keep_last < 0) bad("keep-last", "must be >= 0");
  if (metrics_port < -1 || metrics_port > 65535) bad("metrics-port", "must be -1..65535");
  if (patience < 0) bad("patience", "must be >= 0");
  if (early_stop_metric != "valid_macro_f1" && early_stop_metric != "valid_accuracy" &&
      early_stop_metric != "valid_loss") {
    bad("early-stop-metric",
        "'" + early_stop_metric + "' is not one of valid_macro_f1, valid_accuracy, valid_loss");
  }
  parse_cell(cell);
  parse_readout(readout);
  parse_activation(dense_activation);
  parse_optimizer(optimizer);
  parse_schedule(schedule);
}

nlohmann::json TrainConfig::to_json() const {
  return {{"data", data},
          {"out", out},
          {"cell", cell},
          {"embed", embed},
          {"hidden", hidden},
          {"layers", layers},
          {"bidirectional", bidirectional},
          {"dropout", dropout},
          {"readout", readout},
          {"dense_hidden", dense_hidden},
          {"dense_activation", dense_activation},
          {"label_smoothing", label_smoothing},
          {"class_weights", class_weights},
          {"optimizer", optimizer},
          {"lr", lr},
          {"weight_decay", weight_decay},
          {"momentum", momentum},
          {"nesterov", nesterov},
          {"beta1", beta1},
          {"beta2", beta2},
          {"eps", eps},
          {"schedule", schedule},
          {"warmup_steps", warmup_steps},
          {"step_size", step_size},
          {"gamma", gamma},
          {"min_lr", min_lr},
          {"epochs", epochs},
          {"batch_size", batch_size},
          {"accum_steps", accum_steps},
          {"clip_norm", clip_norm},
          {"max_steps", max_steps},
          {"bucket_batches", bucket_batches},
          {"allreduce_bucket_mb", allreduce_bucket_mb},
          {"eval_every", eval_every},
          {"early_stop_metric", early_stop_metric},
          {"patience", patience},
          {"device", device},
          {"precision", precision},
          {"rnn_impl", rnn_impl},
          {"threads", threads},
          {"seed", seed},
          {"checkpoint_every", checkpoint_every},
          {"keep_last", keep_last},
          {"resume", resume},
          {"log_every", log_every},
          {"log_all_ranks", log_all_ranks},
          {"log_level", log_level},
          {"tensorboard", tensorboard},
          {"mlflow", mlflow},
          {"mlflow_experiment", mlflow_experiment},
          {"run_name", run_name},
          {"mlflow_parent_run", mlflow_parent_run},
          {"metrics_port", metrics_port},
          {"metrics_host", metrics_host},
          {"timeline", timeline}};
}

std::string TrainConfig::to_yaml() const {
  const nlohmann::json resolved = to_json();  // (items() must not outlive its json)
  YAML::Emitter emitter;
  emitter << YAML::BeginMap;
  for (const auto& [key, value] : resolved.items()) {
    emitter << YAML::Key << key << YAML::Value;
    if (value.is_array()) {
      emitter << YAML::Flow << YAML::BeginSeq;
      for (const auto& v : value) emitter << v.dump();
      emitter << YAML::EndSeq;
    } else if (value.is_string()) {
      emitter << value.get<std::string>();
    } else {
      emitter << value.dump();
    }
  }
  emitter << YAML::EndMap;
  return std::string(emitter.c_str()) + "\n";
}

void add_train_options(CLI::App& app, TrainConfig& c) {
  app.option_defaults()->multi_option_policy(CLI::MultiOptionPolicy::TakeLast);
  app.add_option("--config", c.config_file,
                 "YAML file of options (keys are flag names); flags override it");
  app.add_option("--data", c.data, "Dataset directory made by engine_prep")->required();
  app.add_option("--out", c.out, "Run directory: checkpoints, curves, reports")->required();
  auto* model = "Model";
  app.add_option("--cell", c.cell, "Recurrent cell: lstm, gru or rnn (tanh)")
      ->group(model)
      ->capture_default_str();
  app.add_option("--embed", c.embed, "Embedding size")->group(model)->capture_default_str();
  app.add_option("--hidden", c.hidden, "Hidden size of each recurrent layer and direction")
      ->group(model)
      ->capture_default_str();
  app.add_option("--layers", c.layers, "Recurrent layers")->group(model)->capture_default_str();
  app.add_flag("--bidirectional", c.bidirectional, "Run each layer in both directions")
      ->group(model);
  app.add_option("--dropout", c.dropout, "Dropout on the embedding output and between layers")
      ->group(model)
      ->capture_default_str();
  app.add_option("--readout", c.readout, "Sequence summary: last, mean or max")
      ->group(model)
      ->capture_default_str();
  app.add_option("--dense-hidden", c.dense_hidden,
                 "Hidden dense layer before the classifier (0: none)")
      ->group(model)
      ->capture_default_str();
  app.add_option("--dense-activation", c.dense_activation, "Its activation: relu or tanh")
      ->group(model)
      ->capture_default_str();
  app.add_option("--label-smoothing", c.label_smoothing, "Label smoothing epsilon")
      ->group(model)
      ->capture_default_str();
  app.add_option("--class-weights", c.class_weights, "Per-class loss weights (K values)")
      ->group(model)
      ->expected(1, 100000);
  auto* optimisation = "Optimisation";
  app.add_option("--optimizer", c.optimizer, "adam, adamw or sgd")
      ->group(optimisation)
      ->capture_default_str();
  app.add_option("--lr", c.lr, "Learning rate")->group(optimisation)->capture_default_str();
  app.add_option("--weight-decay", c.weight_decay,
                 "Weight decay (L2 for adam/sgd, decoupled for adamw)")
      ->group(optimisation)
      ->capture_default_str();
  app.add_option("--momentum", c.momentum, "SGD momentum")
      ->group(optimisation)
      ->capture_default_str();
  app.add_flag("--nesterov", c.nesterov, "SGD with Nesterov momentum")->group(optimisation);
  app.add_option("--beta1", c.beta1, "Adam beta1")->group(optimisation)->capture_default_str();
  app.add_option("--beta2", c.beta2, "Adam beta2")->group(optimisation)->capture_default_str();
  app.add_option("--eps", c.eps, "Adam epsilon")->group(optimisation)->capture_default_str();
  app.add_option("--schedule", c.schedule, "LR schedule: constant, step or cosine")
      ->group(optimisation)
      ->capture_default_str();
  app.add_option("--warmup-steps", c.warmup_steps, "Linear warmup steps")
      ->group(optimisation)
      ->capture_default_str();
  app.add_option("--step-size", c.step_size, "Step schedule: steps between decays")
      ->group(optimisation)
      ->capture_default_str();
  app.add_option("--gamma", c.gamma, "Step schedule: decay factor")
      ->group(optimisation)
      ->capture_default_str();
  app.add_option("--min-lr", c.min_lr, "Cosine schedule: final learning rate")
      ->group(optimisation)
      ->capture_default_str();
  app.add_option("--epochs", c.epochs, "Epochs")->group(optimisation)->capture_default_str();
  app.add_option("--batch-size", c.batch_size, "Examples per batch (per rank)")
      ->group(optimisation)
      ->capture_default_str();
  app.add_option("--accum-steps", c.accum_steps, "Batches accumulated per optimizer step")
      ->group(optimisation)
      ->capture_default_str();
  app.add_option("--clip-norm", c.clip_norm, "Clip gradients to this global L2 norm (0: off)")
      ->group(optimisation)
      ->capture_default_str();
  app.add_option("--max-steps", c.max_steps, "Stop after this many optimizer steps (0: no limit)")
      ->group(optimisation)
      ->capture_default_str();
  auto* evaluation = "Evaluation";
  app.add_option("--eval-every", c.eval_every, "Validate every N optimizer steps (0: each epoch)")
      ->group(evaluation)
      ->capture_default_str();
  app.add_option("--early-stop-metric", c.early_stop_metric,
                 "valid_macro_f1, valid_accuracy or valid_loss")
      ->group(evaluation)
      ->capture_default_str();
  app.add_option("--patience", c.patience,
                 "Validations without improvement before stopping (0: off)")
      ->group(evaluation)
      ->capture_default_str();
  auto* runtime = "Runtime";
  app.add_option("--bucket-batches", c.bucket_batches,
                 "Length-bucketing window in batches (0: off)")
      ->group(runtime)
      ->capture_default_str();
  app.add_option("--allreduce-bucket-mb", c.allreduce_bucket_mb,
                 "With several ranks: reduce gradients in buckets of this size while backward "
                 "runs (0: one allreduce after backward)")
      ->group(runtime)
      ->capture_default_str();
  app.add_option("--device", c.device, "cpu or cuda")
      ->group(runtime)
      ->capture_default_str()
      ->check(CLI::IsMember({"cpu", "cuda"}));
  app.add_option("--precision", c.precision,
                 "fp32 (strict), fp16 mixed precision (fp32 master weights, half GEMM operands, "
                 "dynamic loss scaling; --device cuda) or tf32 (fp32, GEMMs on TF32 tensor "
                 "cores; --device cuda)")
      ->group(runtime)
      ->capture_default_str()
      ->check(CLI::IsMember({"fp32", "fp16", "tf32"}));
  app.add_option("--rnn-impl", c.rnn_impl,
                 "On the GPU: custom (our kernels + cuBLAS) or cudnn (cuDNN's RNN: its LSTM, "
                 "GRU and tanh RNN)")
      ->group(runtime)
      ->capture_default_str()
      ->check(CLI::IsMember({"custom", "cudnn"}));
  app.add_option("--threads", c.threads,
                 "CPU threads: each runs a model replica on a slice of every batch")
      ->group(runtime)
      ->capture_default_str();
  app.add_option("--seed", c.seed, "Seed for weights, shuffling and dropout")
      ->group(runtime)
      ->capture_default_str();
  app.add_option("--checkpoint-every", c.checkpoint_every,
                 "Checkpoint every N optimizer steps (0: each epoch)")
      ->group(runtime)
      ->capture_default_str();
  app.add_option("--keep-last", c.keep_last, "Checkpoints to keep (0: all)")
      ->group(runtime)
      ->capture_default_str();
  app.add_option("--resume", c.resume,
                 "auto (newest valid checkpoint in --out) or a checkpoint file")
      ->group(runtime);
  app.add_option("--log-every", c.log_every, "Steps between progress lines when not on a terminal")
      ->group(runtime)
      ->capture_default_str();
  app.add_flag("--quiet", c.quiet, "Print only warnings and errors")->group(runtime);
  app.add_option("--log-level", c.log_level, "Terminal log level: debug, info, warn or error")
      ->group(runtime)
      ->capture_default_str()
      ->check(CLI::IsMember({"debug", "info", "warn", "error"}));
  app.add_flag("--log-all-ranks", c.log_all_ranks, "Every rank also logs to OUT/logs/rank-N.log")
      ->group(runtime);
  auto* tracking = "Tracking";
  app.add_option("--tensorboard", c.tensorboard,
                 "Write TensorBoard event files (scalars, hparams) to this directory")
      ->group(tracking);
  app.add_option("--mlflow", c.mlflow,
                 "Log the run to MLflow: file:PATH (file store) or http://HOST:PORT (server)")
      ->group(tracking);
  app.add_option("--mlflow-experiment", c.mlflow_experiment, "MLflow experiment name")
      ->group(tracking)
      ->capture_default_str();
  app.add_option("--run-name", c.run_name, "MLflow run name (default: the --out directory's name)")
      ->group(tracking);
  app.add_option("--mlflow-parent-run", c.mlflow_parent_run,
                 "Log as a child of this MLflow run id (engine_tune's trials)")
      ->group(tracking);
  app.add_option("--metrics-port", c.metrics_port,
                 "Serve Prometheus metrics on this port while training (0: any free port; "
                 "-1: off)")
      ->group(tracking)
      ->capture_default_str();
  app.add_option("--metrics-host", c.metrics_host, "Address the metrics endpoint listens on")
      ->group(tracking)
      ->capture_default_str();
  app.add_option("--timeline", c.timeline,
                 "Write a Chrome-trace JSON of every rank's step phases (Perfetto) to this file")
      ->group(tracking);
}

namespace {

// YAML keys become "--key value" arguments placed before the command line's own.
std::vector<std::string> yaml_arguments(const CLI::App& app, const std::string& path) {
  YAML::Node root;
  try {
    root = YAML::LoadFile(path);
  } catch (const YAML::Exception& e) {
    throw CLI::ValidationError("--config", path + ": " + e.what());
  }
  if (!root.IsMap())
    throw CLI::ValidationError("--config", path + ": expected a map of option: value");
  std::vector<std::string> args;
  for (const auto& entry : root) {
    std::string name = entry.first.as<std::string>();
    std::replace(name.begin(), name.end(), '_', '-');
    if (name == "config" || app.get_option_no_throw("--" + name) == nullptr) {
      throw CLI::ValidationError("--config", path + ": unknown option '" +
                                                 entry.first.as<std::string>() + "' (line " +
                                                 std::to_string(entry.first.Mark().line + 1) + ")");
    }
    const YAML::Node& value = entry.second;
    if (value.IsSequence()) {
      if (value.size() == 0)
        continue;  // an empty list keeps the default (as config.yaml writes it)
      args.push_back("--" + name);
      for (const auto& v : value) args.push_back(v.as<std::string>());
    } else {
      args.push_back("--" + name + "=" + value.as<std::string>());
    }
  }
  return args;
}

}  // namespace

bool parse_train_args(CLI::App& app, TrainConfig& config, int argc, char** argv, int& exit_code) {
  std::vector<std::string> args(argv + 1, argv + argc);
  try {
    std::string config_path;
    for (std::size_t i = 0; i < args.size(); ++i) {
      if (args[i] == "--config" && i + 1 < args.size()) config_path = args[i + 1];
      if (args[i].rfind("--config=", 0) == 0) config_path = args[i].substr(9);
    }
    std::vector<std::string> combined;
    if (!config_path.empty()) combined = yaml_arguments(app, config_path);
    combined.insert(combined.end(), args.begin(), args.end());
    std::reverse(combined.begin(), combined.end());  // CLI11 takes the vector back to front
    app.parse(combined);
    config.validate();
  } catch (const CLI::ParseError& e) {
    exit_code = app.exit(e);
    return false;
  } catch (const std::invalid_argument& e) {
    std::fprintf(stderr, "error: %s\n", e.what());
    exit_code = 2;
    return false;
  }
  return true;
}

}  // namespace engine
