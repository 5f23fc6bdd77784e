// Synthetic batches and the FLOP count of a training step, shared by the CPU (bench_train) and
// GPU (bench_gpu) step benchmarks so their figures are comparable.
#pragma once

#include <CLI/CLI.hpp>
#include <random>

#include "engine/model_config.h"
#include "engine/train_config.h"
#include "io/loader.h"

namespace engine::bench {

// What a synthetic workload is: the model's shape (spelled and checked as engine_train's) and
// the batches fed to it.
struct Workload {
  TrainConfig shape;
  int batch_size = 64;
  int seq_len = 64;
  bool var_len = false;
  int vocab = 20000;
};

// The options both step benchmarks take for it.
inline void add_workload_options(CLI::App& app, Workload& w) {
  app.add_option("--cell", w.shape.cell)->capture_default_str();
  app.add_option("--embed", w.shape.embed)->capture_default_str();
  app.add_option("--hidden", w.shape.hidden)->capture_default_str();
  app.add_option("--layers", w.shape.layers)->capture_default_str();
  app.add_flag("--bidirectional", w.shape.bidirectional);
  app.add_option("--batch-size", w.batch_size)->capture_default_str();
  app.add_option("--seq-len", w.seq_len)->capture_default_str();
  app.add_flag("--var-len", w.var_len, "Lengths uniform in [8, seq-len]");
  app.add_option("--vocab", w.vocab)->capture_default_str();
}

// Tokens uniform in [2, vocab), labels in [0, 4); lengths seq_len, or uniform in [8, seq_len].
inline io::Batch make_batch(std::mt19937& rng, int batch_size, int seq_len, bool var_len,
                            int vocab) {
  io::Batch batch;
  batch.rows = static_cast<std::size_t>(batch_size);
  batch.max_len = static_cast<std::size_t>(seq_len);
  std::uniform_int_distribution<int> length(8, seq_len), token(2, vocab - 1), label(0, 3);
  for (int r = 0; r < batch_size; ++r) {
    batch.lengths.push_back(var_len ? length(rng) : seq_len);
    batch.labels.push_back(label(rng));
  }
  batch.tokens.assign(batch.rows * batch.max_len, 0);
  for (std::size_t r = 0; r < batch.rows; ++r) {
    for (int t = 0; t < batch.lengths[r]; ++t)
      batch.tokens[r * batch.max_len + static_cast<std::size_t>(t)] = token(rng);
  }
  return batch;
}

// Per token, per layer and direction, the input and recurrent GEMMs (2 flops per multiply-add);
// training counts 3x (forward, data gradient, weight gradient).
inline double step_flops(const ModelConfig& config, double tokens, bool training) {
  const double gates = config.cell == CellType::kLstm ? 4 : config.cell == CellType::kGru ? 3 : 1;
  double per_token = 0;
  for (int l = 0; l < config.layers; ++l) {
    const double in = l == 0 ? config.embed : config.hidden * config.directions();
    per_token += config.directions() * 2.0 * gates * config.hidden * (in + config.hidden);
  }
  return per_token * tokens * (training ? 3.0 : 1.0);
}

}  // namespace engine::bench
