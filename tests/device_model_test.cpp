// DeviceModel (the step written once against engine/backend.h) on the CPU backend against the
// CPU Model: same logits, losses, predictions and gradients for every cell, stacking,
// direction, readout, dense layer, dropout and class-weight combination. This is what makes the
// CUDA backend a thin layer: the orchestration it runs is checked here on every machine.
#include "engine/device_model.h"

#include <gtest/gtest.h>

#include <cmath>
#include <random>

#include "engine/cpu_backend.h"
#include "model_fixtures.h"

namespace engine {
namespace {

struct ParityCase {
  std::string name;
  ModelConfig config;
};

void PrintTo(const ParityCase& c, std::ostream* os) {
  *os << c.name;
}

class DeviceModelParity : public testing::TestWithParam<ParityCase> {};

TEST_P(DeviceModelParity, MatchesTheCpuModel) {
  const ModelConfig& config = GetParam().config;
  Model reference(config);
  reference.initialize(7);
  const auto backend = make_cpu_backend();
  DeviceModel device(config, *backend);
  device.initialize(7);

  std::mt19937 rng(3);
  for (int round = 0; round < 3; ++round) {
    const io::Batch batch = random_batch(rng, 9, static_cast<int>(config.vocab_size),
                                         config.classes, 7, static_cast<std::size_t>(round));
    reference.parameters().zero_grads();
    device.zero_grads();
    const StepResult want = reference.train_step(batch, 11, static_cast<std::uint64_t>(round));
    const StepResult got = device.train_step(batch, 11, static_cast<std::uint64_t>(round));
    EXPECT_EQ(got.rows, want.rows);
    EXPECT_GT(got.forward_seconds, 0.0);  // the backend's marks time each pass
    EXPECT_GT(got.backward_seconds, 0.0);
    EXPECT_EQ(got.predictions, want.predictions);
    EXPECT_EQ(got.correct, want.correct);
    EXPECT_NEAR(got.loss_sum, want.loss_sum, 1e-5 * std::fabs(want.loss_sum));
    EXPECT_LT(normalised_error(device.logits(), reference.logits()), 1e-6);
    const std::vector<float> want_grads(reference.parameters().grads().begin(),
                                        reference.parameters().grads().end());
    const std::vector<float> got_grads = device.download_grads();
    EXPECT_LT(normalised_error(got_grads, want_grads), 1e-5);
    // Per tensor too, so a small tensor's error is not hidden by a large one's scale.
    for (const ParameterSlice& slice : reference.parameters().slices()) {
      const auto begin = static_cast<std::ptrdiff_t>(slice.offset);
      const auto end = static_cast<std::ptrdiff_t>(slice.offset + slice.size);
      EXPECT_LT(normalised_error({got_grads.begin() + begin, got_grads.begin() + end},
                                 {want_grads.begin() + begin, want_grads.begin() + end}),
                1e-5)
          << slice.name;
    }

    const StepResult want_eval = reference.evaluate(batch);
    const StepResult got_eval = device.evaluate(batch);
    EXPECT_EQ(got_eval.predictions, want_eval.predictions);
    EXPECT_NEAR(got_eval.loss_sum, want_eval.loss_sum, 1e-5 * std::fabs(want_eval.loss_sum));
  }
}

ModelConfig with(ModelConfig c, float dropout, int vocab = 12) {
  c.dropout = dropout;
  c.vocab_size = vocab;
  return c;
}

INSTANTIATE_TEST_SUITE_P(
    Configurations, DeviceModelParity,
    testing::Values(
        ParityCase{"lstm", small_config(CellType::kLstm, 1, false, Readout::kLast, 0)},
        ParityCase{"gru", small_config(CellType::kGru, 1, false, Readout::kLast, 0)},
        ParityCase{"rnn", small_config(CellType::kRnn, 1, false, Readout::kLast, 0)},
        ParityCase{"lstm_bi_2layer_dropout",
                   with(small_config(CellType::kLstm, 2, true, Readout::kLast, 0), 0.3f)},
        ParityCase{"gru_bi_2layer_mean_dense",
                   with(small_config(CellType::kGru, 2, true, Readout::kMean, 6), 0.2f)},
        ParityCase{"rnn_bi_max", small_config(CellType::kRnn, 1, true, Readout::kMax, 0)},
        ParityCase{"lstm_max_dense_relu",
                   [] {
                     ModelConfig c = small_config(CellType::kLstm, 1, false, Readout::kMax, 5);
                     c.dense_activation = Activation::kRelu;
                     c.class_weights.clear();
                     return c;
                   }()},
        ParityCase{"gru_big_vocab_3layer",
                   with(small_config(CellType::kGru, 3, false, Readout::kLast, 0), 0.1f, 200)}),
    [](const testing::TestParamInfo<ParityCase>& param) { return param.param.name; });

TEST(DeviceModel, GradientsAccumulateAcrossSteps) {
  const ModelConfig config = small_config(CellType::kLstm, 1, true, Readout::kMean, 0);
  const auto backend = make_cpu_backend();
  DeviceModel device(config, *backend);
  device.initialize(5);
  std::mt19937 rng(1);
  const io::Batch a = random_batch(rng, 4, 12, 3, 6), b = random_batch(rng, 5, 12, 3, 6);
  device.train_step(a, 1, 0);
  const std::vector<float> ga = device.download_grads();
  device.zero_grads();
  device.train_step(b, 1, 1);
  const std::vector<float> gb = device.download_grads();
  device.zero_grads();
  device.train_step(a, 1, 0);
  device.train_step(b, 1, 1);
  const std::vector<float> both = device.download_grads();
  for (std::size_t i = 0; i < both.size(); ++i) ASSERT_NEAR(both[i], ga[i] + gb[i], 1e-5f);
}

TEST(DeviceModel, ATokenOutsideTheVocabularyIsAnErrorNotAStrayWrite) {
  const ModelConfig config = small_config(CellType::kLstm, 1, false, Readout::kLast, 0);
  const auto backend = make_cpu_backend();
  DeviceModel device(config, *backend);
  device.initialize(5);
  std::mt19937 rng(3);
  io::Batch batch = random_batch(rng, 4, 12, 3, 6);
  batch.tokens[0] = static_cast<std::int32_t>(config.vocab_size);  // every sequence has step 0
  EXPECT_THROW(device.train_step(batch, 1, 0), std::out_of_range);
}

TEST(DeviceModel, LossScaleMultipliesEveryGradientButNotTheLoss) {
  const ModelConfig config = small_config(CellType::kGru, 1, false, Readout::kLast, 0);
  const auto backend = make_cpu_backend();
  DeviceModel device(config, *backend);
  device.initialize(5);
  std::mt19937 rng(2);
  const io::Batch batch = random_batch(rng, 6, 12, 3, 5);
  const StepResult plain = device.train_step(batch, 1, 0);
  const std::vector<float> g1 = device.download_grads();
  device.zero_grads();
  device.set_loss_scale(1024.0f);
  const StepResult scaled = device.train_step(batch, 1, 0);
  const std::vector<float> g1024 = device.download_grads();
  EXPECT_DOUBLE_EQ(scaled.loss_sum, plain.loss_sum);
  for (std::size_t i = 0; i < g1.size(); ++i)
    ASSERT_NEAR(g1024[i], 1024.0f * g1[i], 1e-3f * std::max(1.0f, std::fabs(1024.0f * g1[i])));
}

// fp16 and tf32 round GEMM operands only, to 11 significant bits (TF32 keeps fp32's exponent
// range): close to fp32 but not equal, and on values inside half's range both compute the same.
TEST(DeviceModel, ReducedPrecisionRoundsGemmOperandsOnly) {
  for (const CellType cell : {CellType::kLstm, CellType::kGru}) {
    const bool gru = cell == CellType::kGru;
    ModelConfig config = small_config(cell, 1, gru, gru ? Readout::kMean : Readout::kLast, 0);
    config.hidden = 16;
    config.embed = 16;
    const auto fp32 = make_cpu_backend(Precision::kFp32);
    const auto fp16 = make_cpu_backend(Precision::kFp16);
    const auto tf32 = make_cpu_backend(Precision::kTf32);
    DeviceModel exact(config, *fp32), half(config, *fp16), tensor(config, *tf32);
    std::mt19937 rng(4);
    const io::Batch batch = random_batch(rng, 8, 12, 3, 9);
    exact.initialize(9);
    const StepResult want = exact.train_step(batch, 1, 0);
    for (DeviceModel* model : {&half, &tensor}) {
      model->initialize(9);
      const StepResult got = model->train_step(batch, 1, 0);
      const double logit_error = normalised_error(model->logits(), exact.logits());
      EXPECT_GT(logit_error, 1e-7);
      EXPECT_LT(logit_error, 1e-2);
      EXPECT_NEAR(got.loss_sum, want.loss_sum, 1e-2 * want.loss_sum);
      EXPECT_LT(normalised_error(model->download_grads(), exact.download_grads()), 3e-2);
    }
    EXPECT_EQ(tensor.logits(), half.logits());
  }
}

TEST(DeviceModel, TheCpuBackendHasNoLibraryRnn) {
  const auto backend = make_cpu_backend();
  try {
    DeviceModel model(small_config(CellType::kLstm, 1, false, Readout::kLast, 0), *backend, true);
    FAIL() << "no error";
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find("no library RNN"), std::string::npos) << e.what();
  }
}

// The backward pass says, top of the model first, from which offset the gradients are final:
// what it reports as final then never changes (so it may be reduced while backward goes on).
TEST(DeviceModel, ReportsFinalGradientsTopFirst) {
  const ModelConfig config = small_config(CellType::kGru, 2, true, Readout::kMax, 4);
  const auto backend = make_cpu_backend();
  DeviceModel model(config, *backend);
  model.initialize(3);
  std::vector<std::size_t> offsets;
  std::vector<std::vector<float>> snapshots;
  model.set_grads_ready([&](std::size_t offset) {
    offsets.push_back(offset);
    snapshots.push_back(model.download_grads());
  });
  std::mt19937 rng(9);
  model.train_step(random_batch(rng, 6, 12, 3, 7), 1, 0);
  const std::vector<float> final_grads = model.download_grads();
  const ParameterArena& arena = model.host().parameters();
  EXPECT_EQ(offsets, (std::vector<std::size_t>{arena.slice("hidden.weight").offset,
                                               arena.slice("rnn.weight_ih_l1").offset,
                                               arena.slice("rnn.weight_ih_l0").offset, 0}));
  for (std::size_t k = 0; k < offsets.size(); ++k) {
    for (std::size_t i = offsets[k]; i < final_grads.size(); ++i)
      ASSERT_EQ(snapshots[k][i], final_grads[i]) << "offset " << offsets[k] << " element " << i;
  }
}

}  // namespace
}  // namespace engine
