// The in-place LSTM row loops the recurrent layer runs (kernels/cpu/rnn_pointwise.h) against the
// out-of-place loops over the shared math: the AVX-512 versions (own exp, reciprocal estimate)
// within a few ulps, the portable fallback exactly. Row widths around the 16-lane blocks, inputs
// from the tanh series' range to saturation.
#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <string>
#include <vector>

#include "kernels/cpu/avx512.h"
#include "kernels/cpu/rnn_pointwise.h"

namespace engine::cpu {
namespace {

std::vector<float> draw(std::mt19937& rng, std::size_t n, float scale) {
  // Mixed magnitudes: most values O(scale), some tiny (the series branch), some huge.
  std::uniform_real_distribution<float> uniform(-1.0f, 1.0f);
  std::uniform_int_distribution<int> kind(0, 9);
  std::vector<float> v(n);
  for (float& x : v) {
    const int k = kind(rng);
    x = uniform(rng) * (k == 0 ? 0.01f : k == 1 ? 60.0f : scale);
  }
  return v;
}

void expect_close(const std::vector<float>& got, const std::vector<float>& want, float tolerance,
                  const std::string& what) {
  ASSERT_EQ(got.size(), want.size());
  for (std::size_t k = 0; k < got.size(); ++k) {
    ASSERT_NEAR(got[k], want[k], tolerance * (1.0f + std::abs(want[k]))) << what << " at " << k;
  }
}

void check_rows(float tolerance) {
  std::mt19937 rng(21);
  for (const int H : {1, 7, 15, 16, 17, 40, 64}) {
    const auto n = static_cast<std::size_t>(H);
    for (const bool has_previous : {true, false}) {
      const std::vector<float> p = draw(rng, 4 * n, 3.0f), u = draw(rng, 4 * n, 1.0f),
                               c_prev = draw(rng, n, 2.0f);
      std::vector<float> keep(4 * n), c(n), h(n);
      lstm_forward_row(H, p.data(), u.data(), c_prev.data(), keep.data(), c.data(), h.data());
      std::vector<float> gates = p, c2(n), h2(n), scratch(4 * n);
      lstm_forward_row_in_place(H, gates.data(), u.data(), c_prev.data(), c2.data(), h2.data(),
                                scratch.data());
      const std::string at = "H=" + std::to_string(H);
      expect_close(gates, keep, tolerance, "forward gates " + at);
      expect_close(c2, c, tolerance, "forward c " + at);
      expect_close(h2, h, tolerance, "forward h " + at);

      const std::vector<float> dh_above = draw(rng, n, 1.0f), dh_carry = draw(rng, n, 1.0f),
                               dc_in = draw(rng, n, 1.0f);
      std::vector<float> dc = dc_in, dp(4 * n);
      lstm_backward_row(H, keep.data(), c.data(), c_prev.data(), dh_above.data(), dh_carry.data(),
                        dc.data(), dp.data(), has_previous);
      std::vector<float> dc2 = dc_in;
      gates = keep;
      const std::vector<float> bias_before = draw(rng, 4 * n, 1.0f);
      std::vector<float> bias = bias_before;
      lstm_backward_row_in_place(H, gates.data(), c.data(), c_prev.data(), dh_above.data(),
                                 dh_carry.data(), dc2.data(), has_previous, bias.data(),
                                 scratch.data());
      expect_close(gates, dp, tolerance, "backward gates " + at);
      expect_close(dc2, dc, tolerance, "backward dc " + at);
      std::vector<float> bias_want = bias_before;  // the row's gradients added to the bias's
      for (std::size_t k = 0; k < bias_want.size(); ++k) bias_want[k] += dp[k];
      expect_close(bias, bias_want, tolerance, "bias gradient " + at);
    }
  }
}

TEST(LstmRowsInPlace, Avx512MatchesTheSharedMath) {
  if (!avx512_available()) GTEST_SKIP() << "this CPU has no AVX-512F: the portable rows run";
  check_rows(2e-6f);
}

TEST(LstmRowsInPlace, PortablePathMatchesTheSharedMathExactly) {
  set_avx512_enabled(false);
  check_rows(0.0f);
  set_avx512_enabled(true);
}

}  // namespace
}  // namespace engine::cpu
