// DeviceRunner (the --device cuda training step, run here on the CPU backend) against CpuRunner
// (what --device cpu trains with): the same parameters after several optimizer steps with
// accumulation and clipping, for Adam and SGD; exact continuation through pull/push (the
// checkpoint path); and fp16 mixed precision with dynamic loss scaling, including forced
// overflow with gradients that overflow half, skipped steps, and the error when overflow persists.
#include "engine/device_runner.h"

#include <gtest/gtest.h>

#include <cmath>
#include <random>

#include "comm/communicator.h"
#include "engine/cpu_backend.h"
#include "engine/cpu_runner.h"
#include "model_fixtures.h"

namespace engine {
namespace {

ModelConfig runner_config() {
  ModelConfig c = small_config(CellType::kLstm, 2, true, Readout::kMean, 0);
  c.vocab_size = 40;
  c.dropout = 0.1f;
  return c;
}

// `steps` optimizer steps of `accum` micro-batches each; returns the update results.
std::vector<ModelRunner::Update> train(ModelRunner& runner, comm::Communicator& world, int steps,
                                       int accum = 2, std::uint32_t seed = 1, float lr = 0.01f,
                                       std::uint64_t first_micro = 0) {
  std::mt19937 rng(seed);
  std::vector<ModelRunner::Update> updates;
  std::uint64_t micro = first_micro;
  for (int s = 0; s < steps; ++s) {
    runner.zero_grads();
    std::int64_t rows = 0;
    for (int a = 0; a < accum; ++a) {
      const io::Batch batch = random_batch(rng, 7, 40, 3, 9);
      rows += runner.train_step(batch, 5, micro++, a + 1 == accum).rows;
    }
    runner.reduce_gradients(world);
    updates.push_back(runner.update(rows, 0.5, lr));
  }
  return updates;
}

class RunnerParity : public testing::TestWithParam<OptimizerKind> {};

TEST_P(RunnerParity, DeviceRunnerOnTheCpuBackendTrainsAsCpuRunner) {
  const auto world = comm::make_single_process();
  OptimizerConfig optimizer;
  optimizer.kind = GetParam();
  optimizer.momentum = 0.9f;
  optimizer.weight_decay = 0.01f;
  CpuRunner cpu(runner_config(), optimizer, 1, 0, *world, [](const std::string&) {});
  DeviceRunner device(runner_config(), optimizer, make_cpu_backend());
  cpu.initialize(3);
  device.initialize(3);
  const auto a = train(cpu, *world, 6);
  const auto b = train(device, *world, 6);
  for (std::size_t s = 0; s < a.size(); ++s) {
    EXPECT_NEAR(b[s].grad_norm, a[s].grad_norm, 1e-5 * a[s].grad_norm) << "step " << s;
    EXPECT_FALSE(b[s].skipped);
    EXPECT_EQ(b[s].loss_scale, 1.0f);
  }
  device.pull();
  EXPECT_LT(normalised_error(device.host_model().parameters().values(),
                             cpu.host_model().parameters().values()),
            1e-5);
  EXPECT_EQ(device.host_optimizer().steps(), 6);
  EXPECT_LT(
      normalised_error(device.host_optimizer().first_moment(), cpu.host_optimizer().first_moment()),
      1e-4);
}

INSTANTIATE_TEST_SUITE_P(Optimizers, RunnerParity,
                         testing::Values(OptimizerKind::kAdam, OptimizerKind::kAdamW,
                                         OptimizerKind::kSgd),
                         [](const testing::TestParamInfo<OptimizerKind>& param) {
                           return optimizer_name(param.param);
                         });

// What a checkpoint carries (host model, optimizer, loss scaler) continues exactly.
TEST(DeviceRunner, PullAndPushContinueExactly) {
  const auto world = comm::make_single_process();
  const OptimizerConfig optimizer;
  DeviceRunner straight(runner_config(), optimizer, make_cpu_backend(Precision::kFp16));
  straight.initialize(4);
  train(straight, *world, 3, 2, 1);
  train(straight, *world, 3, 2, 2, 0.01f, 6);
  straight.pull();

  DeviceRunner first(runner_config(), optimizer, make_cpu_backend(Precision::kFp16));
  first.initialize(4);
  train(first, *world, 3, 2, 1);
  first.pull();
  DeviceRunner resumed(runner_config(), optimizer, make_cpu_backend(Precision::kFp16));
  auto values = resumed.host_model().parameters().values();
  const auto saved = first.host_model().parameters().values();
  std::copy(saved.begin(), saved.end(), values.begin());
  resumed.host_optimizer().restore(first.host_optimizer().steps(),
                                   first.host_optimizer().first_moment(),
                                   first.host_optimizer().second_moment());
  resumed.push();
  resumed.restore_scaler(first.scaler_state());
  train(resumed, *world, 3, 2, 2, 0.01f, 6);
  resumed.pull();
  const auto want = straight.host_model().parameters().values();
  const auto got = resumed.host_model().parameters().values();
  EXPECT_TRUE(std::equal(want.begin(), want.end(), got.begin()));
  EXPECT_EQ(resumed.scaler_state(), straight.scaler_state());
}

// fp32 has no loss scaling, even when the runner factory hands every runner a scaler.
TEST(DeviceRunner, Fp32IgnoresAScaler) {
  const auto world = comm::make_single_process();
  DeviceRunner exact(runner_config(), OptimizerConfig{}, make_cpu_backend(Precision::kFp32));
  exact.set_scaler(LossScaler({.init_scale = 1048576.0f}));
  exact.initialize(2);
  for (const auto& u : train(exact, *world, 2)) {
    EXPECT_FALSE(u.skipped);
    EXPECT_EQ(u.loss_scale, 1.0f);
  }
  EXPECT_TRUE(exact.scaler_state().is_null());
}

TEST(DeviceRunner, Fp16TrainsLikeFp32) {
  const auto world = comm::make_single_process();
  const OptimizerConfig optimizer;
  DeviceRunner exact(runner_config(), optimizer, make_cpu_backend(Precision::kFp32));
  DeviceRunner mixed(runner_config(), optimizer, make_cpu_backend(Precision::kFp16));
  // The gradient is of the summed loss (DeviceModel), so a scale that keeps d_logits * scale
  // below half's 65504 for a batch of 7 and never grows within the run.
  mixed.set_scaler(LossScaler({.init_scale = 4096.0f}));
  exact.initialize(2);
  mixed.initialize(2);
  const auto a = train(exact, *world, 8);
  const auto b = train(mixed, *world, 8);
  for (const auto& u : b) {
    EXPECT_FALSE(u.skipped);
    EXPECT_EQ(u.loss_scale, 4096.0f);
  }
  EXPECT_NEAR(b.back().grad_norm, a.back().grad_norm, 0.05 * a.back().grad_norm);
  exact.pull();
  mixed.pull();
  EXPECT_LT(normalised_error(mixed.host_model().parameters().values(),
                             exact.host_model().parameters().values()),
            1e-2);
  EXPECT_EQ(mixed.scaler_state().at("skipped_steps"), 0);
}

// A loss scale of 2^30 makes d_logits * scale overflow half's 65504 in the classifier's GEMM:
// those steps are skipped (parameters untouched) and the scale halves until it fits.
TEST(DeviceRunner, Fp16OverflowSkipsStepsAndHalvesTheScale) {
  const auto world = comm::make_single_process();
  DeviceRunner mixed(runner_config(), OptimizerConfig{}, make_cpu_backend(Precision::kFp16));
  mixed.set_scaler(LossScaler({.init_scale = 1073741824.0f}));
  mixed.initialize(2);
  mixed.pull();
  const std::vector<float> before(mixed.host_model().parameters().values().begin(),
                                  mixed.host_model().parameters().values().end());
  const auto first = train(mixed, *world, 1);
  ASSERT_TRUE(first[0].skipped);
  EXPECT_TRUE(std::isnan(first[0].grad_norm));
  mixed.pull();
  EXPECT_TRUE(
      std::equal(before.begin(), before.end(), mixed.host_model().parameters().values().begin()));
  EXPECT_EQ(mixed.host_optimizer().steps(), 0);

  const auto rest = train(mixed, *world, 20, 2, 3);
  int skipped = 1;
  for (const auto& u : rest) skipped += u.skipped ? 1 : 0;
  EXPECT_GE(skipped, 3);
  EXPECT_FALSE(rest.back().skipped);
  EXPECT_LE(rest.back().loss_scale, 65536.0f);
  EXPECT_EQ(mixed.scaler_state().at("skipped_steps"), skipped);
  mixed.pull();
  EXPECT_EQ(mixed.host_optimizer().steps(), 21 - skipped);
}

TEST(DeviceRunner, PersistentOverflowIsAClearError) {
  const auto world = comm::make_single_process();
  DeviceRunner mixed(runner_config(), OptimizerConfig{}, make_cpu_backend(Precision::kFp16));
  // Overflow for ever: a scale far beyond what halving can bring back within the window.
  mixed.set_scaler(LossScaler({.init_scale = 1e38f}, 8, 4));
  mixed.initialize(2);
  try {
    train(mixed, *world, 8);
    FAIL() << "no error";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("5 of the last 5 steps"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("--precision fp32"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace engine
