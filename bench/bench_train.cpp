// bench_train: training (or inference) steps of the engine on synthetic batches, for the
// PyTorch comparison in bench/train_bench.py (bench/bench_train_torch.py is the other half).
// Prints one line per phase and, last, `samples_per_s=<x>`.
#include <sys/resource.h>

#include <CLI/CLI.hpp>
#include <chrono>
#include <cstdio>
#include <random>

#include "comm/communicator.h"
#include "engine/cpu_backend.h"
#include "engine/cpu_runner.h"
#include "engine/device_runner.h"
#include "engine/train_config.h"
#include "synthetic_workload.h"

int main(int argc, char** argv) {
  CLI::App app{"Time engine training or inference steps on synthetic batches."};
  engine::bench::Workload workload;
  auto& [shape, batch_size, seq_len, var_len, vocab] = workload;
  std::string mode = "train";
  std::string runner_kind = "cpu";
  int steps = 20, warmup = 3;
  app.option_defaults()->multi_option_policy(CLI::MultiOptionPolicy::TakeLast);  // later flags win
  engine::bench::add_workload_options(app, workload);
  app.add_option("--threads", shape.threads)->capture_default_str();
  app.add_option("--steps", steps, "Timed steps")->capture_default_str();
  app.add_option("--warmup", warmup, "Untimed steps first")->capture_default_str();
  app.add_option("--runner", runner_kind,
                 "cpu (what --device cpu trains with) or device (the --device cuda step on the CPU "
                 "backend)")
      ->check(CLI::IsMember({"cpu", "device"}))
      ->capture_default_str();
  app.add_option("--mode", mode, "train (forward + backward + Adam) or infer (forward only)")
      ->check(CLI::IsMember({"train", "infer"}))
      ->capture_default_str();
  CLI11_PARSE(app, argc, argv);

  const engine::ModelConfig config = shape.model_config(vocab, 4);
  const int embed = config.embed, hidden = config.hidden, layers = config.layers;
  // Exactly what engine_train --threads runs on one rank: replicas, the fused Adam update.
  const auto world = engine::comm::make_single_process();
  // --runner device: the --device cuda step (DeviceRunner) on the CPU backend, one thread.
  std::unique_ptr<engine::ModelRunner> owned;
  if (runner_kind == "device") {
    owned = std::make_unique<engine::DeviceRunner>(config, engine::OptimizerConfig{},
                                                   engine::make_cpu_backend());
  } else {
    owned = std::make_unique<engine::CpuRunner>(config, engine::OptimizerConfig{}, shape.threads, 0,
                                                *world, [](const std::string&) {});
  }
  engine::ModelRunner& runner = *owned;
  engine::Model& model = runner.host_model();
  runner.initialize(1);
  std::mt19937 rng(7);
  std::vector<engine::io::Batch> batches;
  for (int i = 0; i < 8; ++i)
    batches.push_back(engine::bench::make_batch(rng, batch_size, seq_len, var_len, vocab));

  double tokens = 0;
  double update_seconds = 0;  // of the timed steps: the optimizer (and replica sync)
  const auto run = [&](int count) {
    for (int i = 0; i < count; ++i) {
      const auto& batch = batches[static_cast<std::size_t>(i) % batches.size()];
      for (const auto length : batch.lengths) tokens += length;
      if (mode == "infer") {
        runner.evaluate(batch);
        continue;
      }
      runner.zero_grads();
      runner.train_step(batch, 0, static_cast<std::uint64_t>(i), true);
      const auto update_start = std::chrono::steady_clock::now();
      runner.update(static_cast<std::int64_t>(batch.rows), 0.0, 1e-3f);
      update_seconds +=
          std::chrono::duration<double>(std::chrono::steady_clock::now() - update_start).count();
    }
  };
  run(warmup);
  tokens = 0;
  update_seconds = 0;
  const auto start = std::chrono::steady_clock::now();
  run(steps);
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();

  const double flops = engine::bench::step_flops(config, tokens, mode == "train");
  std::printf("steps=%d seconds=%.4f step_ms=%.3f gflops=%.2f\n", steps, seconds,
              1000 * seconds / steps, flops / seconds / 1e9);
  if (mode == "train") std::printf("update_ms=%.3f\n", 1000 * update_seconds / steps);
  // Memory: peak RSS against the analytic size of parameters + gradients + Adam's two moments
  // + what the layers keep for backward (per token and layer-direction: the input projection
  // G*H, which LSTM overwrites with its gates, GRU's saved r,z,n,u_n 4H, LSTM's cell H, the
  // output H; per layer its input) at the batch's size.
  const double params = static_cast<double>(model.parameters().size());
  const double gates = engine::gate_count(config.cell);
  const double kept = gates * hidden + (config.cell == engine::CellType::kGru ? 4.0 * hidden : 0) +
                      (config.cell == engine::CellType::kLstm ? hidden : 0) + hidden;
  double activations = 0;
  for (int l = 0; l < layers; ++l) {
    const double in = l == 0 ? embed : hidden * config.directions();
    activations += config.directions() * kept + in;
  }
  const double analytic = 4.0 * (4 * params + activations * batch_size * seq_len);
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  std::printf("peak_rss_mib=%.1f analytic_mib=%.1f\n", static_cast<double>(usage.ru_maxrss) / 1024,
              analytic / (1 << 20));
  std::printf("samples_per_s=%.1f\n", steps * batch_size / seconds);
  return 0;
}
