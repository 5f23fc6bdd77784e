// Whole-model checks: every parameter's gradient against finite differences (for the wiring
// of embedding, stacked / bidirectional layers, readouts and dense layers), padding and batch
// order invariance, and gradient accumulation.
#include "engine/model.h"

#include <gtest/gtest.h>

#include <random>

#include "engine/replicated_model.h"
#include "model_fixtures.h"

namespace engine {
namespace {

struct GradCase {
  std::string name;
  ModelConfig config;
};

class ModelGradient : public testing::TestWithParam<GradCase> {};

TEST_P(ModelGradient, EveryParameterMatchesFiniteDifferences) {
  Model model(GetParam().config);
  model.initialize(3);
  std::mt19937 rng(5);
  const io::Batch batch = random_batch(rng, 6, 12, 3, 6);
  model.parameters().zero_grads();
  model.train_step(batch, 0, 0);
  const std::vector<float> analytic(model.parameters().grads().begin(),
                                    model.parameters().grads().end());
  auto values = model.parameters().values();
  constexpr float kStep = 1e-2f;
  int checked = 0;
  for (std::size_t i = 0; i < values.size(); ++i) {
    const float saved = values[i];
    values[i] = saved + kStep;
    const double up = model.evaluate(batch).loss_sum;
    values[i] = saved - kStep;
    const double down = model.evaluate(batch).loss_sum;
    values[i] = saved;
    const double numeric = (up - down) / (2 * kStep);
    ASSERT_NEAR(analytic[i], numeric, 6e-4 + 2e-2 * std::abs(numeric)) << "parameter value " << i;
    ++checked;
  }
  EXPECT_EQ(checked, static_cast<int>(values.size()));
}

INSTANTIATE_TEST_SUITE_P(
    Wiring, ModelGradient,
    testing::Values(
        GradCase{"lstm_last", small_config(CellType::kLstm, 1, false, Readout::kLast, 0)},
        GradCase{"lstm_bi_2layer_last_dense",
                 small_config(CellType::kLstm, 2, true, Readout::kLast, 3)},
        GradCase{"gru_bi_2layer_mean", small_config(CellType::kGru, 2, true, Readout::kMean, 0)},
        GradCase{"rnn_bi_max_dense", small_config(CellType::kRnn, 1, true, Readout::kMax, 3)}),
    [](const auto& test_case) { return test_case.param.name; });

TEST(Model, PaddingAndBatchOrderDoNotChangeResults) {
  Model model(small_config(CellType::kLstm, 2, true, Readout::kMean, 0));
  model.initialize(1);
  std::mt19937 rng(7);
  const io::Batch tight = random_batch(rng, 5, 12, 3, 7);
  model.evaluate(tight);
  const std::vector<float> reference = model.logits();

  // The same examples with 9 extra padding columns holding garbage that must never be read.
  io::Batch padded = tight;
  padded.max_len = tight.max_len + 9;
  padded.tokens.assign(padded.rows * padded.max_len, 11);
  for (std::size_t r = 0; r < tight.rows; ++r) {
    std::copy(
        tight.tokens.begin() + static_cast<std::ptrdiff_t>(r * tight.max_len),
        tight.tokens.begin() + static_cast<std::ptrdiff_t>(r * tight.max_len) + tight.lengths[r],
        padded.tokens.begin() + static_cast<std::ptrdiff_t>(r * padded.max_len));
  }
  model.evaluate(padded);
  EXPECT_EQ(model.logits(), reference);

  // Reversed row order: each example keeps its logits.
  io::Batch reversed = tight;
  for (std::size_t r = 0; r < tight.rows; ++r) {
    const std::size_t from = tight.rows - 1 - r;
    reversed.lengths[r] = tight.lengths[from];
    reversed.labels[r] = tight.labels[from];
    std::copy(tight.tokens.begin() + static_cast<std::ptrdiff_t>(from * tight.max_len),
              tight.tokens.begin() + static_cast<std::ptrdiff_t>((from + 1) * tight.max_len),
              reversed.tokens.begin() + static_cast<std::ptrdiff_t>(r * tight.max_len));
  }
  model.evaluate(reversed);
  const std::vector<float> flipped = model.logits();
  for (std::size_t r = 0; r < tight.rows; ++r) {
    for (std::size_t k = 0; k < 3; ++k) {
      EXPECT_NEAR(flipped[r * 3 + k], reference[(tight.rows - 1 - r) * 3 + k], 1e-6f);
    }
  }
}

TEST(Model, AccumulatingTwoBatchesEqualsOneBatchTwiceAsLarge) {
  Model model(small_config(CellType::kGru, 1, true, Readout::kLast, 0));
  model.initialize(2);
  std::mt19937 rng(9);
  const io::Batch a = random_batch(rng, 4, 12, 3, 6), b = random_batch(rng, 4, 12, 3, 6);
  io::Batch both;
  both.rows = 8;
  both.max_len = std::max(a.max_len, b.max_len);
  both.tokens.assign(8 * both.max_len, 0);
  for (const io::Batch* part : {&a, &b}) {
    const std::size_t base = part == &a ? 0 : 4;
    for (std::size_t r = 0; r < 4; ++r) {
      both.lengths.push_back(part->lengths[r]);
      both.labels.push_back(part->labels[r]);
      std::copy(
          part->tokens.begin() + static_cast<std::ptrdiff_t>(r * part->max_len),
          part->tokens.begin() + static_cast<std::ptrdiff_t>(r * part->max_len) + part->lengths[r],
          both.tokens.begin() + static_cast<std::ptrdiff_t>((base + r) * both.max_len));
    }
  }
  model.parameters().zero_grads();
  const double loss_a = model.train_step(a, 0, 0).loss_sum;
  const double loss_b = model.train_step(b, 0, 1).loss_sum;
  const std::vector<float> accumulated(model.parameters().grads().begin(),
                                       model.parameters().grads().end());
  model.parameters().zero_grads();
  const double loss_both = model.train_step(both, 0, 0).loss_sum;
  EXPECT_NEAR(loss_a + loss_b, loss_both, 1e-5);
  const auto single = model.parameters().grads();
  for (std::size_t i = 0; i < single.size(); ++i) {
    ASSERT_NEAR(accumulated[i], single[i], 1e-6f + 1e-5f * std::abs(single[i]))
        << "parameter value " << i;
  }
}

TEST(Model, DropoutIsSeededAndOffInEvaluation) {
  ModelConfig config = small_config(CellType::kLstm, 2, false, Readout::kLast, 0);
  config.dropout = 0.5f;
  Model model(config);
  model.initialize(4);
  std::mt19937 rng(1);
  const io::Batch batch = random_batch(rng, 4, 12, 3, 5);
  const double eval1 = model.evaluate(batch).loss_sum;
  const double eval2 = model.evaluate(batch).loss_sum;
  EXPECT_EQ(eval1, eval2);
  const double train_a = model.train_step(batch, 7, 3).loss_sum;
  const double train_b = model.train_step(batch, 7, 3).loss_sum;
  const double train_c = model.train_step(batch, 7, 4).loss_sum;
  EXPECT_EQ(train_a, train_b);  // same (seed, step): same masks
  EXPECT_NE(train_a, train_c);  // another step: other masks
  EXPECT_NE(train_a, eval1);
}

TEST(Model, InitialisationKeepsThePadRowAtZeroAndIsSeeded) {
  Model a(small_config(CellType::kLstm, 1, false, Readout::kLast, 0));
  Model b(small_config(CellType::kLstm, 1, false, Readout::kLast, 0));
  a.initialize(10);
  b.initialize(10);
  EXPECT_TRUE(std::equal(a.parameters().values().begin(), a.parameters().values().end(),
                         b.parameters().values().begin()));
  for (int j = 0; j < 5; ++j) EXPECT_EQ(a.parameters().value(0)[j], 0.0f);
  const float bound = 1.0f / std::sqrt(4.0f);
  const auto& w = a.parameters().slice("rnn.weight_hh_l0");
  for (std::size_t i = 0; i < w.size; ++i) {
    EXPECT_LE(std::abs(a.parameters().values()[w.offset + i]), bound);
  }
}

}  // namespace
}  // namespace engine

namespace engine {
namespace {

TEST(ReplicatedModel, SlicesTheBatchAcrossThreadsAndSumsTheSameGradients) {
  const ModelConfig config = small_config(CellType::kLstm, 2, true, Readout::kLast, 3);
  Model single(config);
  ReplicatedModel replicas(config, 3);
  single.initialize(8);
  replicas.initialize(8);
  std::mt19937 rng(4);
  const io::Batch batch = random_batch(rng, 7, 12, 3, 6);
  single.parameters().zero_grads();
  replicas.primary().parameters().zero_grads();
  const StepResult a = single.train_step(batch, 0, 0);
  const StepResult b = replicas.train_step(batch, 0, 0);
  EXPECT_NEAR(a.loss_sum, b.loss_sum, 1e-5);
  EXPECT_EQ(a.predictions, b.predictions);
  const auto ga = single.parameters().grads(), gb = replicas.primary().parameters().grads();
  for (std::size_t i = 0; i < ga.size(); ++i)
    ASSERT_NEAR(ga[i], gb[i], 1e-6f + 1e-5f * std::abs(ga[i])) << i;
  // A batch smaller than the thread count leaves replicas idle, and still adds up.
  io::Batch one = random_batch(rng, 1, 12, 3, 4);
  EXPECT_EQ(replicas.evaluate(one).rows, 1);
  // The replicas share the primary's weights: a change is seen by all of them at once.
  replicas.primary().parameters().values()[5] += 0.5f;
  single.parameters().values()[5] += 0.5f;
  const StepResult changed = single.evaluate(batch);
  const StepResult replicated = replicas.evaluate(batch);
  EXPECT_EQ(changed.predictions, replicated.predictions);
  EXPECT_NEAR(changed.loss_sum, replicated.loss_sum, 1e-5);
  // A second step starts from zeroed replica gradients: it adds exactly one more batch.
  single.train_step(batch, 0, 1);
  replicas.train_step(batch, 0, 1);
  for (std::size_t i = 0; i < ga.size(); ++i)
    ASSERT_NEAR(ga[i], gb[i], 1e-5f + 1e-5f * std::abs(ga[i])) << i;
}

}  // namespace
}  // namespace engine
