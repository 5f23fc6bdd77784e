// Each cell's backward (kernels/math/rnn_cells.h) against central finite differences of its
// own forward, in double precision.
#include "kernels/math/rnn_cells.h"

#include <gtest/gtest.h>

#include <array>
#include <functional>
#include <random>

#include "kernels/math/softmax_xent.h"

namespace engine::math {
namespace {

constexpr double kStep = 1e-6;
constexpr double kTolerance = 1e-7;

// Central difference of f along coordinate k of v.
template <std::size_t N>
double numeric_grad(const std::function<double(const std::array<double, N>&)>& f,
                    std::array<double, N> v, std::size_t k) {
  v[k] += kStep;
  const double up = f(v);
  v[k] -= 2 * kStep;
  return (up - f(v)) / (2 * kStep);
}

template <std::size_t N>
std::array<double, N> random_point(std::mt19937& rng, double scale = 1.5) {
  std::uniform_real_distribution<double> u(-scale, scale);
  std::array<double, N> v{};
  for (auto& x : v) x = u(rng);
  return v;
}

TEST(RnnCells, LstmBackwardMatchesFiniteDifferences) {
  std::mt19937 rng(1);
  for (int trial = 0; trial < 20; ++trial) {
    // v = a_i, a_f, a_g, a_o, c_prev; loss = wh*h + wc*c with random weights.
    const auto v = random_point<5>(rng);
    const auto w = random_point<2>(rng);
    const auto loss = [&](const std::array<double, 5>& p) {
      const auto u = lstm_forward(p[0], p[1], p[2], p[3], p[4]);
      return w[0] * u.h + w[1] * u.c;
    };
    const auto u = lstm_forward(v[0], v[1], v[2], v[3], v[4]);
    const auto d = lstm_backward(u.i, u.f, u.g, u.o, u.c, v[4], w[0], w[1]);
    const std::array<double, 5> analytic{d.da_i, d.da_f, d.da_g, d.da_o, d.dc_prev};
    for (std::size_t k = 0; k < 5; ++k) {
      EXPECT_NEAR(analytic[k], numeric_grad<5>(loss, v, k), kTolerance) << "input " << k;
    }
  }
}

TEST(RnnCells, GruBackwardMatchesFiniteDifferences) {
  std::mt19937 rng(2);
  for (int trial = 0; trial < 20; ++trial) {
    // v = x_r, x_z, x_n, u_r, u_z, u_n, h_prev; loss = w*h.
    const auto v = random_point<7>(rng);
    const double w = random_point<1>(rng)[0];
    const auto loss = [&](const std::array<double, 7>& p) {
      return w * gru_forward(p[0], p[1], p[2], p[3], p[4], p[5], p[6]).h;
    };
    const auto u = gru_forward(v[0], v[1], v[2], v[3], v[4], v[5], v[6]);
    const auto d = gru_backward(u.r, u.z, u.n, v[5], v[6], w);
    const std::array<double, 7> analytic{d.dx_r, d.dx_z, d.dx_n, d.du_r, d.du_z, d.du_n, d.dh_prev};
    for (std::size_t k = 0; k < 7; ++k) {
      EXPECT_NEAR(analytic[k], numeric_grad<7>(loss, v, k), kTolerance) << "input " << k;
    }
  }
}

TEST(RnnCells, TanhRnnBackwardMatchesFiniteDifferences) {
  for (const double a : {-3.0, -0.4, 0.0, 0.7, 2.5}) {
    const auto loss = [](const std::array<double, 1>& p) { return 1.7 * rnn_forward(p[0]); };
    EXPECT_NEAR(rnn_backward(rnn_forward(a), 1.7), numeric_grad<1>(loss, {a}, 0), kTolerance);
  }
}

TEST(RnnCells, SigmoidIsStableForLargeInputs) {
  EXPECT_NEAR(sigmoid(-1000.0f), 0.0f, 1e-30f);
  EXPECT_EQ(sigmoid(1000.0f), 1.0f);
  EXPECT_NEAR(sigmoid(0.3), 1 / (1 + std::exp(-0.3)), 1e-15);
}

TEST(SoftmaxXent, GradientMatchesFiniteDifferencesWithSmoothingAndWeight) {
  std::mt19937 rng(3);
  for (int trial = 0; trial < 10; ++trial) {
    const auto logits = random_point<5>(rng, 3.0);
    const int label = trial % 5;
    const double smoothing = trial % 2 ? 0.1 : 0.0;
    const double weight = 0.5 + trial * 0.1;
    const auto loss = [&](const std::array<double, 5>& z) {
      return softmax_xent_row(z.data(), 5, label, smoothing, weight, 1.0,
                              static_cast<double*>(nullptr));
    };
    std::array<double, 5> grad{};
    const double value =
        softmax_xent_row(logits.data(), 5, label, smoothing, weight, 1.0, grad.data());
    EXPECT_DOUBLE_EQ(value, loss(logits));
    for (std::size_t k = 0; k < 5; ++k)
      EXPECT_NEAR(grad[k], numeric_grad<5>(loss, logits, k), kTolerance);
  }
  // Huge logits neither overflow nor lose the answer.
  const float big[3] = {1000.0f, 0.0f, -1000.0f};
  EXPECT_NEAR(softmax_xent_row(big, 3, 0, 0.0f, 1.0f, 1.0f, static_cast<float*>(nullptr)), 0.0f,
              1e-6f);
}

}  // namespace
}  // namespace engine::math
