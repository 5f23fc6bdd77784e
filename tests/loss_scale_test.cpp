// Dynamic loss scaling on the CPU: the unscale pass and PyTorch GradScaler's update rule
// (halve and skip on inf/NaN, double after growth_interval clean steps in a row).
#include "kernels/cpu/loss_scale.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <limits>
#include <random>
#include <vector>

#include "engine/loss_scaler.h"
#include "kernels/math/half.h"
#include "kernels/math/loss_scale.h"
#include "kernels/math/tf32.h"

namespace engine {
namespace {

TEST(LossScale, UnscalingFindsInfinitiesAndNans) {
  std::vector<float> g = {65536.0f, -32768.0f, 0.0f, 3.0f};
  const cpu::GradCheck clean = cpu::unscale_check_norm(g, 1.0f / 65536);
  EXPECT_FALSE(clean.non_finite);
  EXPECT_EQ(g, (std::vector<float>{1.0f, -0.5f, 0.0f, 3.0f / 65536}));
  EXPECT_DOUBLE_EQ(clean.sum_squares, 1.0 + 0.25 + (3.0 / 65536) * (3.0 / 65536));
  for (const float bad :
       {std::numeric_limits<float>::infinity(), -std::numeric_limits<float>::infinity(),
        std::numeric_limits<float>::quiet_NaN()}) {
    std::vector<float> h = {1.0f, bad, 2.0f};
    EXPECT_TRUE(cpu::unscale_check_norm(h, 0.5f).non_finite) << bad;
  }
  // A finite value that overflows when unscaled by a scale below 1 counts as non-finite too.
  std::vector<float> big = {3.0e38f};
  EXPECT_TRUE(cpu::unscale_check_norm(big, 4.0f).non_finite);
}

TEST(LossScale, FollowsGradScalersRules) {
  const math::LossScaleConfig config{
      .init_scale = 1024.0f, .growth_factor = 2.0f, .backoff_factor = 0.5f, .growth_interval = 3};
  math::LossScaleState s{.scale = config.init_scale, .clean_steps = 0};
  // Two clean steps: no change yet; the third doubles and restarts the streak.
  EXPECT_FALSE(math::update_loss_scale(s, false, config));
  EXPECT_FALSE(math::update_loss_scale(s, false, config));
  EXPECT_EQ(s.scale, 1024.0f);
  EXPECT_FALSE(math::update_loss_scale(s, false, config));
  EXPECT_EQ(s.scale, 2048.0f);
  EXPECT_EQ(s.clean_steps, 0);
  // An overflow: skip the step, halve, and the streak starts again from zero.
  EXPECT_FALSE(math::update_loss_scale(s, false, config));
  EXPECT_TRUE(math::update_loss_scale(s, true, config));
  EXPECT_EQ(s.scale, 1024.0f);
  EXPECT_EQ(s.clean_steps, 0);
  for (int k = 0; k < 2; ++k) math::update_loss_scale(s, false, config);
  EXPECT_EQ(s.scale, 1024.0f);
  math::update_loss_scale(s, false, config);
  EXPECT_EQ(s.scale, 2048.0f);
  // PyTorch's defaults.
  const math::LossScaleConfig defaults;
  EXPECT_EQ(defaults.init_scale, 65536.0f);
  EXPECT_EQ(defaults.growth_interval, 2000);
}

// LossScaler: skip decisions, the count, its checkpoint round trip, the start for a summed loss.
TEST(LossScaler, CountsSkipsRoundTripsAndStartsBelowHalfsRange) {
  LossScaler scaler({.init_scale = 1024.0f, .growth_interval = 3}, 10, 5);
  EXPECT_TRUE(scaler.update(true, 1));
  EXPECT_EQ(scaler.scale(), 512.0f);
  for (int step = 2; step <= 4; ++step) EXPECT_FALSE(scaler.update(false, step));
  EXPECT_EQ(scaler.scale(), 1024.0f);
  EXPECT_EQ(scaler.skipped_steps(), 1);
  LossScaler copy({.init_scale = 1.0f, .growth_interval = 3}, 10, 5);
  copy.restore(scaler.to_json());
  EXPECT_EQ(copy.to_json(), scaler.to_json());
  EXPECT_FALSE(copy.update(false, 5));
  EXPECT_FALSE(scaler.update(false, 5));
  EXPECT_EQ(copy.to_json(), scaler.to_json());

  EXPECT_EQ(initial_loss_scale(1), 65536.0f);
  EXPECT_EQ(initial_loss_scale(64), 1024.0f);
  EXPECT_EQ(initial_loss_scale(100), 512.0f);  // 100 -> 128
  EXPECT_EQ(initial_loss_scale(1 << 20), 1.0f);
}

// 200,000 finite floats from random bit patterns: every exponent, both signs, subnormals.
void append_random_floats(std::vector<float>& values, unsigned seed) {
  std::mt19937 rng(seed);
  std::uniform_int_distribution<std::uint32_t> any_bits;
  for (int i = 0; i < 200000; ++i) {
    const std::uint32_t raw = any_bits(rng);
    float value;
    std::memcpy(&value, &raw, sizeof value);
    if (std::isfinite(value)) values.push_back(value);
  }
}

// TF32 rounding against an independent reference: the significand scaled to 11 bits and rounded
// to nearest even by the C library, in double; subnormals on their fixed 2^-136 grid.
TEST(Tf32Precision, RoundsToNearestEvenOnTenMantissaBits) {
  const auto reference = [](float value) {
    const double x = value;
    if (std::fabs(x) < 0x1p-126) return static_cast<float>(std::nearbyint(x * 0x1p136) * 0x1p-136);
    int exponent = 0;
    const double significand = std::frexp(x, &exponent);  // [0.5, 1)
    return static_cast<float>(
        std::ldexp(std::nearbyint(std::ldexp(significand, 11)), exponent - 11));
  };
  std::vector<float> values = {0.0f,
                               -0.0f,
                               1.0f,
                               1.0f + 0x1p-11f,
                               1.0f + 0x1p-10f + 0x1p-11f,
                               1.0f + 0x1p-11f + 0x1p-20f,
                               -3.14159265f,
                               0x1p-130f,
                               std::numeric_limits<float>::max(),
                               1e30f};
  append_random_floats(values, 2);
  for (const float value : values) ASSERT_EQ(math::round_to_tf32(value), reference(value)) << value;
  EXPECT_EQ(math::round_to_tf32(1.0f + 0x1p-11f), 1.0f);  // a tie goes to the even neighbour
  EXPECT_EQ(math::round_to_tf32(1.0f + 0x1p-10f + 0x1p-11f), 1.0f + 0x1p-9f);
  EXPECT_EQ(math::round_to_tf32(std::numeric_limits<float>::max()),
            std::numeric_limits<float>::infinity());
  const float nan = math::round_to_tf32(std::numeric_limits<float>::quiet_NaN());
  EXPECT_NE(nan, nan);
}

// The half rounding both backends share against the compiler's own IEEE binary16 conversion
// (round to nearest even): normals, subnormals, ties, overflow to inf, NaN.
TEST(HalfPrecision, RoundsExactlyAsIeeeBinary16) {
  const auto bits_of = [](float value) {
    const auto h = static_cast<_Float16>(value);
    std::uint16_t bits;
    std::memcpy(&bits, &h, sizeof bits);
    return bits;
  };
  std::vector<float> values = {0.0f,
                               -0.0f,
                               1.0f,
                               65504.0f,
                               65519.0f,
                               65520.0f,
                               -65520.0f,
                               6.1035156e-5f,
                               6.0975552e-5f,
                               5.9604645e-8f,
                               2.9802322e-8f,
                               2.9802326e-8f,
                               1e-10f,
                               1.0f + 1.0f / 2048,
                               1.0f + 3.0f / 2048,
                               std::numeric_limits<float>::infinity(),
                               1e30f};
  append_random_floats(values, 1);
  for (const float value : values) {
    ASSERT_EQ(math::float_to_half_bits(value), bits_of(value)) << value;
    ASSERT_EQ(math::round_to_half(value), static_cast<float>(static_cast<_Float16>(value)))
        << value;
  }
  const float nan = math::round_to_half(std::numeric_limits<float>::quiet_NaN());
  EXPECT_NE(nan, nan);
  // A gradient of 1e-8 vanishes in half; scaled by 2^16 it survives: why the loss is scaled.
  EXPECT_EQ(math::round_to_half(1e-8f), 0.0f);
  EXPECT_NEAR(math::round_to_half(1e-8f * 65536.0f) / 65536.0f, 1e-8f, 1e-10f);
}

}  // namespace
}  // namespace engine
