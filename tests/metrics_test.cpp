#include "engine/metrics.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <random>

#include "engine/lr_schedule.h"
#include "engine/optimizer.h"

namespace engine {
namespace {

TEST(Metrics, ReportFromAKnownConfusionMatrix) {
  ConfusionMatrix m(2);
  // true 0: 3 right, 1 wrong; true 1: 2 right, 4 wrong.
  for (int i = 0; i < 3; ++i) m.add(0, 0);
  m.add(0, 1);
  for (int i = 0; i < 2; ++i) m.add(1, 1);
  for (int i = 0; i < 4; ++i) m.add(1, 0);
  const auto r = m.report({"a", "b"});
  EXPECT_DOUBLE_EQ(r["accuracy"].get<double>(), 0.5);
  EXPECT_DOUBLE_EQ(r["per_class"][0]["precision"].get<double>(), 3.0 / 7.0);
  EXPECT_DOUBLE_EQ(r["per_class"][0]["recall"].get<double>(), 0.75);
  EXPECT_DOUBLE_EQ(r["per_class"][1]["precision"].get<double>(), 2.0 / 3.0);
  EXPECT_DOUBLE_EQ(r["per_class"][1]["recall"].get<double>(), 2.0 / 6.0);
  const double f1_a = 2 * (3.0 / 7) * 0.75 / (3.0 / 7 + 0.75),
               f1_b = 2 * (2.0 / 3) * (1.0 / 3) / (2.0 / 3 + 1.0 / 3);
  EXPECT_NEAR(r["macro_avg"]["f1"].get<double>(), (f1_a + f1_b) / 2, 1e-12);
  EXPECT_NEAR(r["weighted_avg"]["f1"].get<double>(), (4 * f1_a + 6 * f1_b) / 10, 1e-12);
  EXPECT_EQ(r["confusion_matrix"]["counts"][1][0].get<int>(), 4);
  EXPECT_NE(m.table({"a", "b"}).find("accuracy 0.5000 on 10 examples"), std::string::npos);
}

TEST(LrSchedule, WarmupThenStepOrCosine) {
  LrSchedule s{ScheduleKind::kStep, 1.0, 4, 10, 0.5, 0.0, 100};
  EXPECT_DOUBLE_EQ(s.at(0), 0.25);
  EXPECT_DOUBLE_EQ(s.at(3), 1.0);
  EXPECT_DOUBLE_EQ(s.at(13), 1.0);
  EXPECT_DOUBLE_EQ(s.at(14), 0.5);
  EXPECT_DOUBLE_EQ(s.at(34), 0.125);
  LrSchedule c{ScheduleKind::kCosine, 1.0, 0, 0, 0, 0.1, 10};
  EXPECT_DOUBLE_EQ(c.at(0), 1.0);
  EXPECT_NEAR(c.at(5), 0.55, 1e-12);
  EXPECT_NEAR(c.at(10), 0.1, 1e-12);
  EXPECT_NEAR(c.at(50), 0.1, 1e-12);
}

TEST(Optimizer, AdamMatchesTheClosedFormFirstStep) {
  // After one step Adam moves each parameter by lr * g / (|g| + eps') = lr * sign(g).
  Optimizer adam({OptimizerKind::kAdam}, 3);
  std::vector<float> p{1.0f, -2.0f, 0.5f}, g{0.3f, -4.0f, 1e-3f};
  adam.step(p, g, 0.1f);
  EXPECT_NEAR(p[0], 0.9f, 1e-6f);
  EXPECT_NEAR(p[1], -1.9f, 1e-6f);
  EXPECT_NEAR(p[2], 0.4f, 1e-4f);
}

TEST(Optimizer, SgdMomentumAndDecoupledDecay) {
  Optimizer sgd({OptimizerKind::kSgd, 0.9f, 0.999f, 1e-8f, 0.0f, 0.5f, false}, 1);
  std::vector<float> p{1.0f}, g{1.0f};
  sgd.step(p, g, 0.1f);  // buffer = 1
  EXPECT_NEAR(p[0], 0.9f, 1e-7f);
  sgd.step(p, g, 0.1f);  // buffer = 0.5 + 1
  EXPECT_NEAR(p[0], 0.75f, 1e-7f);
  Optimizer adamw({OptimizerKind::kAdamW, 0.9f, 0.999f, 1e-8f, 0.1f}, 1);
  std::vector<float> q{2.0f}, zero{0.0f};
  adamw.step(q, zero, 0.5f);  // only the decay moves it: q *= 1 - lr*wd
  EXPECT_NEAR(q[0], 2.0f * (1 - 0.05f), 1e-6f);
}

TEST(Optimizer, ClipGlobalNorm) {
  std::vector<float> g{3.0f, 4.0f};
  EXPECT_NEAR(clip_global_norm(g, 1.0), 5.0, 1e-9);
  EXPECT_NEAR(g[0], 0.6f, 1e-6f);
  EXPECT_NEAR(g[1], 0.8f, 1e-6f);
  std::vector<float> small{0.1f};
  clip_global_norm(small, 1.0);
  EXPECT_EQ(small[0], 0.1f);
}

// The lane-wise sum against a long double reference, for lengths around the lane count.
TEST(Optimizer, ScaledSumOfSquaresMatchesAReference) {
  std::mt19937 rng(11);
  std::normal_distribution<float> normal(0.0f, 2.0f);
  for (const std::size_t n : {0u, 1u, 7u, 8u, 9u, 17u, 1000u, 100003u}) {
    std::vector<float> values(n);
    for (float& x : values) x = normal(rng);
    long double reference = 0;
    for (const float x : values) {
      const float scaled = x * 0.25f;
      reference += static_cast<long double>(scaled) * scaled;
    }
    EXPECT_NEAR(scaled_sum_of_squares(values, 0.25f), static_cast<double>(reference),
                1e-13 * static_cast<double>(reference) + 1e-300)
        << n;
  }
}

// The trainer's fused update equals scaling, clipping and stepping in turn, bit for bit, for
// every optimizer, with and without clipping, and leaves the gradients zeroed.
TEST(Optimizer, StepScaledIsBitIdenticalToTheSeparatePasses) {
  std::mt19937 rng(4);
  std::normal_distribution<float> normal(0.0f, 3.0f);
  for (const OptimizerKind kind :
       {OptimizerKind::kAdam, OptimizerKind::kAdamW, OptimizerKind::kSgd}) {
    for (const double max_norm : {0.0, 1.0, 1e6}) {
      OptimizerConfig config{kind};
      config.weight_decay = 0.01f;
      config.momentum = 0.9f;
      Optimizer separate(config, 1001), fused(config, 1001);
      std::vector<float> a(1001), b;
      for (float& x : a) x = normal(rng);
      b = a;
      for (int step = 0; step < 3; ++step) {
        std::vector<float> g(1001);
        for (float& x : g) x = 40.0f * normal(rng);
        std::vector<float> h = g;
        for (float& x : g) x *= 1.0f / 40.0f;
        const double want = clip_global_norm(g, max_norm);
        separate.step(a, g, 1e-2f);
        const double got = fused.step_scaled(b, h, 1.0f / 40.0f, max_norm, 1e-2f);
        EXPECT_EQ(got, want);
        ASSERT_EQ(a, b) << optimizer_name(kind) << " clip " << max_norm << " step " << step;
        EXPECT_TRUE(std::all_of(h.begin(), h.end(), [](float x) { return x == 0.0f; }));
      }
      EXPECT_EQ(std::vector<float>(fused.first_moment().begin(), fused.first_moment().end()),
                std::vector<float>(separate.first_moment().begin(), separate.first_moment().end()));
    }
  }
}

}  // namespace
}  // namespace engine
