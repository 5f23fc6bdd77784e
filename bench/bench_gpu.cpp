// bench_gpu: training steps of the CUDA backend on synthetic batches, timed with the device
// synchronised: step time (median and spread over repeats), samples/s, achieved TFLOP/s against
// the device's peak, for --precision fp32|fp16|tf32 and each --rnn-impl given (interleaved, so the
// ratio between implementations comes from one run). --mode infer times forward passes without
// gradients instead (inference, batch-1 latency). Needs a GPU: without one it says why and
// exits 2. Last line `samples_per_s=<x>` (the first implementation's median), as bench_train.
#include <cuda_runtime.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <random>
#include <sstream>

#include "engine/cuda_backend.h"
#include "engine/device_runner.h"
#include "engine/train_config.h"
#include "kernels/cuda/check.h"
#include "kernels/cuda/device_info.h"
#include "synthetic_workload.h"

namespace {

// Dense peak of one device in TFLOP/s from its SM count and clock: fp32 FMA lanes per SM, or
// fp16 tensor-core multiply-adds per SM per clock (dense, fp32 accumulate), TF32 at half that
// rate. 0 when unknown.
double peak_tflops(int device, engine::Precision precision) {
  const bool tensor_cores = precision != engine::Precision::kFp32;
  cudaDeviceProp prop{};
  CHECK_CUDA(cudaGetDeviceProperties(&prop, device));
  int clock_khz = 0;
  CHECK_CUDA(cudaDeviceGetAttribute(&clock_khz, cudaDevAttrClockRate, device));
  const int arch = prop.major * 10 + prop.minor;
  double fma_per_sm = 0;
  if (tensor_cores) {
    fma_per_sm = arch == 70 ? 512 : arch == 80 ? 1024 : arch == 90 ? 2048 : 0;
    if (precision == engine::Precision::kTf32) fma_per_sm = arch == 70 ? 0 : fma_per_sm / 2;
  } else {
    fma_per_sm = arch == 70 || arch == 80 ? 64 : arch >= 86 ? 128 : 0;
  }
  return 2.0 * fma_per_sm * prop.multiProcessorCount * clock_khz * 1e3 / 1e12;
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"Time CUDA training steps on synthetic batches."};
  engine::bench::Workload workload;
  auto& [shape, batch_size, seq_len, var_len, vocab] = workload;
  int steps = 20, warmup = 5, repeats = 5;
  int device = 0;
  std::string mode = "train";
  engine::bench::add_workload_options(app, workload);
  std::vector<std::string> impls = {"custom"};
  app.add_option("--steps", steps, "Timed steps per repeat")->capture_default_str();
  app.add_option("--warmup", warmup, "Untimed steps first")->capture_default_str();
  app.add_option("--repeats", repeats, "Timed repeats (median and spread)")->capture_default_str();
  app.add_option("--device", device, "CUDA device index")->capture_default_str();
  app.add_option("--mode", mode, "train (forward, backward, update) or infer (forward only)")
      ->check(CLI::IsMember({"train", "infer"}))
      ->capture_default_str();
  app.add_option("--precision", shape.precision)
      ->check(CLI::IsMember({"fp32", "fp16", "tf32"}))
      ->capture_default_str();
  app.add_option("--rnn-impl", impls, "Implementations to compare, interleaved")
      ->check(CLI::IsMember({"custom", "cudnn"}))
      ->capture_default_str();
  CLI11_PARSE(app, argc, argv);

  const engine::cuda::CudaEnvironment env = engine::cuda::probe_cuda();
  if (env.devices.empty()) {
    std::fprintf(stderr, "bench_gpu: no GPU: %s\n", env.unavailable_reason.c_str());
    return 2;
  }
  const engine::ModelConfig config = shape.model_config(vocab, 4);
  const engine::Precision precision = engine::parse_precision(shape.precision);
  std::vector<std::unique_ptr<engine::DeviceRunner>> runners;
  for (const auto& impl : impls) {
    runners.push_back(std::make_unique<engine::DeviceRunner>(
        config, engine::OptimizerConfig{}, engine::make_cuda_backend(device, precision), nullptr,
        impl == "cudnn"));
    runners.back()->initialize(1);
  }
  std::mt19937 rng(7);
  std::vector<engine::io::Batch> batches;
  double tokens_per_cycle = 0;
  for (int i = 0; i < 8; ++i) {
    batches.push_back(engine::bench::make_batch(rng, batch_size, seq_len, var_len, vocab));
    for (const auto length : batches.back().lengths) tokens_per_cycle += length;
  }
  const auto world = engine::comm::make_single_process();
  std::uint64_t micro = 0;
  // Seconds for `count` whole steps (forward, backward, unscale/check/norm, Adam), or forward
  // passes (each waits for its logits, as a server would).
  const bool training = mode == "train";
  const auto run = [&](engine::DeviceRunner& runner, int count) {
    const auto start = std::chrono::steady_clock::now();
    for (int i = 0; i < count; ++i) {
      const auto& batch = batches[static_cast<std::size_t>(i) % batches.size()];
      if (!training) {
        runner.evaluate(batch);
        continue;
      }
      runner.zero_grads();
      runner.train_step(batch, 0, micro++, true);
      runner.update(static_cast<std::int64_t>(batch.rows), 0.0, 1e-3f);
    }
    runner.model().backend().synchronize();
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  };
  for (auto& runner : runners) run(*runner, warmup);
  std::vector<std::vector<double>> step_ms(runners.size());
  for (int r = 0; r < repeats; ++r) {
    for (std::size_t k = 0; k < runners.size(); ++k)
      step_ms[k].push_back(1000.0 * run(*runners[k], steps) / steps);
  }
  const double tokens_per_step = tokens_per_cycle / static_cast<double>(batches.size());
  const double flops = engine::bench::step_flops(config, tokens_per_step, training);
  const double peak = peak_tflops(device, precision);
  std::printf("device=%s precision=%s mode=%s peak_tflops=%.1f\n", env.devices[device].name.c_str(),
              shape.precision.c_str(), mode.c_str(), peak);
  for (std::size_t k = 0; k < runners.size(); ++k) {
    const double ms = median(step_ms[k]);
    const auto [low, high] = std::minmax_element(step_ms[k].begin(), step_ms[k].end());
    const double tflops = flops / (ms / 1000.0) / 1e12;
    std::printf(
        "impl=%s step_ms=%.3f (min %.3f max %.3f) samples_per_s=%.0f tflops=%.2f "
        "peak_fraction=%.3f\n",
        impls[k].c_str(), ms, *low, *high, batch_size / (ms / 1000.0), tflops,
        peak > 0 ? tflops / peak : 0.0);
    if (k > 0)
      std::printf("ratio %s/%s step time = %.2f\n", impls[k].c_str(), impls[0].c_str(),
                  ms / median(step_ms[0]));
  }
  std::printf("%s\n", runners.front()->describe().c_str());
  std::printf("samples_per_s=%.1f\n", batch_size / (median(step_ms[0]) / 1000.0));
  return 0;
}
