// The packed CPU recurrent layer against a plain double-precision reference that runs each
// sequence on its own: forward outputs must agree, and every gradient our backward computes
// (weights, biases, inputs) must match central finite differences of the reference's loss.
#include "layers/recurrent_layer.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <random>
#include <vector>

#include "kernels/cpu/avx512.h"
#include "kernels/cpu/gemm.h"
#include "kernels/cpu/packed_gemm.h"
#include "kernels/math/rnn_cells.h"

namespace engine {
namespace {

struct Problem {
  CellType cell;
  bool reverse;
  int input = 4;
  int hidden = 3;
  std::vector<std::int32_t> lengths;
  // Parameters in one vector: W_ih, W_hh, b_ih, b_hh.
  std::vector<double> params;
  // Inputs and loss weights per (sequence, step), unpacked: [b][t][...].
  std::vector<std::vector<std::vector<double>>> x;
  std::vector<std::vector<std::vector<double>>> loss_weight;

  int gh() const { return gate_count(cell) * hidden; }
  std::size_t w_ih() const { return 0; }
  std::size_t w_hh() const { return static_cast<std::size_t>(gh() * input); }
  std::size_t b_ih() const { return w_hh() + static_cast<std::size_t>(gh() * hidden); }
  std::size_t b_hh() const { return b_ih() + static_cast<std::size_t>(gh()); }

  // Variable lengths (unsorted, with ties) or all equal (the layer takes a shortcut for dW_hh).
  Problem(CellType c, bool r, unsigned seed, bool equal_lengths)
      : cell(c),
        reverse(r),
        lengths(equal_lengths ? std::vector<std::int32_t>{4, 4, 4}
                              : std::vector<std::int32_t>{3, 7, 1, 5, 7}) {
    std::mt19937 rng(seed);
    std::uniform_real_distribution<double> u(-0.6, 0.6);
    params.resize(b_hh() + static_cast<std::size_t>(gh()));
    for (auto& p : params) p = u(rng);
    for (const int length : lengths) {
      x.emplace_back();
      loss_weight.emplace_back();
      for (int t = 0; t < length; ++t) {
        x.back().emplace_back(static_cast<std::size_t>(input));
        for (auto& v : x.back().back()) v = u(rng) * 2;
        loss_weight.back().emplace_back(static_cast<std::size_t>(hidden));
        for (auto& v : loss_weight.back().back()) v = u(rng);
      }
    }
  }

  // Reference: loss = sum over sequences, steps, units of loss_weight * h; also returns the
  // outputs h[b][t][j].
  double reference(std::vector<std::vector<std::vector<double>>>* outputs = nullptr) const {
    const int H = hidden;
    double loss = 0;
    for (std::size_t b = 0; b < lengths.size(); ++b) {
      const int length = lengths[b];
      std::vector<double> h(static_cast<std::size_t>(H), 0.0), c(static_cast<std::size_t>(H), 0.0);
      std::vector<std::vector<double>> out(static_cast<std::size_t>(length));
      for (int k = 0; k < length; ++k) {
        const int t = reverse ? length - 1 - k : k;
        std::vector<double> xg(static_cast<std::size_t>(gh())), ug(static_cast<std::size_t>(gh()));
        for (int g = 0; g < gh(); ++g) {
          double sx = params[b_ih() + static_cast<std::size_t>(g)],
                 su = params[b_hh() + static_cast<std::size_t>(g)];
          for (int i = 0; i < input; ++i)
            sx += params[w_ih() + static_cast<std::size_t>(g * input + i)] *
                  x[b][static_cast<std::size_t>(t)][static_cast<std::size_t>(i)];
          for (int i = 0; i < H; ++i)
            su += params[w_hh() + static_cast<std::size_t>(g * H + i)] *
                  h[static_cast<std::size_t>(i)];
          xg[static_cast<std::size_t>(g)] = sx;
          ug[static_cast<std::size_t>(g)] = su;
        }
        std::vector<double> next(static_cast<std::size_t>(H));
        for (int j = 0; j < H; ++j) {
          const auto J = static_cast<std::size_t>(j);
          const auto at = [&](const std::vector<double>& v, int gate) {
            return v[static_cast<std::size_t>(gate * H + j)];
          };
          if (cell == CellType::kLstm) {
            const auto unit =
                math::lstm_forward(at(xg, 0) + at(ug, 0), at(xg, 1) + at(ug, 1),
                                   at(xg, 2) + at(ug, 2), at(xg, 3) + at(ug, 3), c[J]);
            c[J] = unit.c;
            next[J] = unit.h;
          } else if (cell == CellType::kGru) {
            next[J] = math::gru_forward(at(xg, 0), at(xg, 1), at(xg, 2), at(ug, 0), at(ug, 1),
                                        at(ug, 2), h[J])
                          .h;
          } else {
            next[J] = math::rnn_forward(at(xg, 0) + at(ug, 0));
          }
        }
        h = next;
        out[static_cast<std::size_t>(t)] = h;
        for (int j = 0; j < H; ++j)
          loss += loss_weight[b][static_cast<std::size_t>(t)][static_cast<std::size_t>(j)] *
                  h[static_cast<std::size_t>(j)];
      }
      if (outputs) outputs->push_back(out);
    }
    return loss;
  }
};

class RecurrentLayerTest : public testing::TestWithParam<std::tuple<CellType, bool, bool>> {};

TEST_P(RecurrentLayerTest, MatchesReferenceForwardAndFiniteDifferenceGradients) {
  const auto [cell, reverse, equal_lengths] = GetParam();
  Problem problem(cell, reverse, 7 + static_cast<unsigned>(cell) * 2 + (reverse ? 1 : 0),
                  equal_lengths);
  const int I = problem.input, H = problem.hidden;
  const PackedLayout layout = PackedLayout::from_lengths(problem.lengths);

  // Pack inputs and loss weights; parameters to float.
  std::vector<float> x(static_cast<std::size_t>(layout.rows() * I)),
      dh(static_cast<std::size_t>(layout.rows() * H));
  for (int s = 0; s < layout.sequences(); ++s) {
    const auto b = static_cast<std::size_t>(layout.order[static_cast<std::size_t>(s)]);
    for (int t = 0; t < layout.lengths[static_cast<std::size_t>(s)]; ++t) {
      const auto row = static_cast<std::size_t>(layout.row(s, t));
      for (int i = 0; i < I; ++i)
        x[row * static_cast<std::size_t>(I) + static_cast<std::size_t>(i)] = static_cast<float>(
            problem.x[b][static_cast<std::size_t>(t)][static_cast<std::size_t>(i)]);
      for (int j = 0; j < H; ++j)
        dh[row * static_cast<std::size_t>(H) + static_cast<std::size_t>(j)] = static_cast<float>(
            problem.loss_weight[b][static_cast<std::size_t>(t)][static_cast<std::size_t>(j)]);
    }
  }
  std::vector<float> params(problem.params.begin(), problem.params.end());
  std::vector<float> grads(params.size(), 0.0f);
  const RecurrentParams p{params.data() + problem.w_ih(), params.data() + problem.w_hh(),
                          params.data() + problem.b_ih(), params.data() + problem.b_hh()};
  const RecurrentGrads g{grads.data() + problem.w_ih(), grads.data() + problem.w_hh(),
                         grads.data() + problem.b_ih(), grads.data() + problem.b_hh()};

  RecurrentLayer layer(cell, I, H, reverse);
  std::vector<float> h(static_cast<std::size_t>(layout.rows() * H));
  layer.forward(layout, x.data(), p, h.data(), H);
  std::vector<float> dx(x.size());
  layer.backward(layout, x.data(), h.data(), dh.data(), H, p, g, dx.data(), false);

  std::vector<std::vector<std::vector<double>>> expected;
  problem.reference(&expected);
  for (int s = 0; s < layout.sequences(); ++s) {
    const auto b = static_cast<std::size_t>(layout.order[static_cast<std::size_t>(s)]);
    for (int t = 0; t < layout.lengths[static_cast<std::size_t>(s)]; ++t) {
      for (int j = 0; j < H; ++j) {
        ASSERT_NEAR(h[static_cast<std::size_t>(layout.row(s, t) * H + j)],
                    expected[b][static_cast<std::size_t>(t)][static_cast<std::size_t>(j)], 1e-6)
            << "sequence " << b << " step " << t;
      }
    }
  }

  constexpr double kStep = 1e-6;
  const auto check = [&](double& value, double analytic, const std::string& what) {
    const double saved = value;
    value = saved + kStep;
    const double up = problem.reference();
    value = saved - kStep;
    const double down = problem.reference();
    value = saved;
    const double numeric = (up - down) / (2 * kStep);
    EXPECT_NEAR(analytic, numeric, 2e-5 + 1e-4 * std::abs(numeric)) << what;
  };
  for (std::size_t k = 0; k < problem.params.size(); ++k)
    check(problem.params[k], grads[k], "parameter " + std::to_string(k));
  for (int s = 0; s < layout.sequences(); ++s) {
    const auto b = static_cast<std::size_t>(layout.order[static_cast<std::size_t>(s)]);
    for (int t = 0; t < layout.lengths[static_cast<std::size_t>(s)]; ++t) {
      for (int i = 0; i < I; ++i) {
        check(problem.x[b][static_cast<std::size_t>(t)][static_cast<std::size_t>(i)],
              dx[static_cast<std::size_t>(layout.row(s, t) * I + i)],
              "input of sequence " + std::to_string(b) + " step " + std::to_string(t));
      }
    }
  }

  // backward accumulates: a second call doubles every parameter gradient, and told to add to dx
  // it doubles that too. This call reads dh from rows wider than H, as a bidirectional stack
  // passes its joined gradient.
  const std::vector<float> once = grads, dx_once = dx;
  const int wide = H + 3;
  std::vector<float> dh_wide(static_cast<std::size_t>(layout.rows() * wide), 99.0f);
  for (int r = 0; r < layout.rows(); ++r)
    std::copy_n(dh.data() + static_cast<std::size_t>(r * H), H,
                dh_wide.data() + static_cast<std::size_t>(r * wide));
  layer.forward(layout, x.data(), p, h.data(), H);  // backward consumes what forward kept
  layer.backward(layout, x.data(), h.data(), dh_wide.data(), wide, p, g, dx.data(), true);
  for (std::size_t k = 0; k < grads.size(); ++k)
    ASSERT_NEAR(grads[k], 2 * once[k], 1e-5f + 1e-5f * std::abs(once[k]));
  for (std::size_t k = 0; k < dx.size(); ++k)
    ASSERT_NEAR(dx[k], 2 * dx_once[k], 1e-5f + 1e-5f * std::abs(dx_once[k]));
}

std::string case_name(const testing::TestParamInfo<std::tuple<CellType, bool, bool>>& test_case) {
  static const char* const kCellNames[] = {"rnn", "lstm", "gru"};
  return std::string(kCellNames[static_cast<int>(std::get<0>(test_case.param))]) +
         (std::get<1>(test_case.param) ? "_reverse" : "_forward") +
         (std::get<2>(test_case.param) ? "_equal_lengths" : "");
}

INSTANTIATE_TEST_SUITE_P(Cells, RecurrentLayerTest,
                         testing::Combine(testing::Values(CellType::kRnn, CellType::kLstm,
                                                          CellType::kGru),
                                          testing::Bool(), testing::Bool()),
                         case_name);

TEST(PackedLayout, SortsStablyAndCountsLiveSequences) {
  const std::vector<std::int32_t> lengths{2, 4, 1, 4};
  const auto layout = PackedLayout::from_lengths(lengths);
  EXPECT_EQ(layout.order, (std::vector<int>{1, 3, 0, 2}));
  EXPECT_EQ(layout.batch_sizes, (std::vector<int>{4, 3, 2, 2}));
  EXPECT_EQ(layout.step_offsets, (std::vector<int>{0, 4, 7, 9, 11}));
  EXPECT_EQ(layout.rows(), 11);
  EXPECT_THROW(PackedLayout::from_lengths(std::vector<std::int32_t>{3, 0}), std::invalid_argument);
}

// The packed small-M GEMM against a plain loop: row counts around its 8-row blocks, column
// counts around its 32-column panels, both packings, overwrite and accumulate.
TEST(PackedGemm, MatchesALoopForEveryShapeEdge) {
  if (!cpu::avx512_available()) GTEST_SKIP() << "this CPU has no AVX-512F: the layers use OpenBLAS";
  std::mt19937 rng(5);
  std::uniform_real_distribution<float> uniform(-1.0f, 1.0f);
  for (const int m : {1, 3, 8, 9, 17}) {
    for (const int n : {1, 20, 32, 45, 64}) {
      for (const int k : {1, 7, 33}) {
        for (const bool transposed : {false, true}) {
          const int ldw = (transposed ? k : n) + 3;  // a row stride wider than the rows
          std::vector<float> a(static_cast<std::size_t>(m * (k + 2))),
              w((transposed ? n : k) * ldw);
          for (float& x : a) x = uniform(rng);
          for (float& x : w) x = uniform(rng);
          const auto b_at = [&](int kk, int j) {
            return transposed ? w[static_cast<std::size_t>(j * ldw + kk)]
                              : w[static_cast<std::size_t>(kk * ldw + j)];
          };
          cpu::PackedB b;
          if (transposed) {
            b.pack_transposed(w.data(), n, k, ldw);
          } else {
            b.pack(w.data(), k, n, ldw);
          }
          for (const bool accumulate : {false, true}) {
            const int ldc = n + 5;
            std::vector<float> c(static_cast<std::size_t>(m * ldc));
            for (float& x : c) x = uniform(rng);
            const std::vector<float> before = c;
            cpu::gemm_packed(m, a.data(), k + 2, b, c.data(), ldc, accumulate);
            for (int i = 0; i < m; ++i) {
              for (int j = 0; j < ldc; ++j) {
                const auto at = static_cast<std::size_t>(i * ldc + j);
                if (j >= n) {  // beyond the product's columns nothing is touched
                  ASSERT_EQ(c[at], before[at]);
                  continue;
                }
                double want = accumulate ? before[at] : 0.0;
                for (int kk = 0; kk < k; ++kk)
                  want += static_cast<double>(a[static_cast<std::size_t>(i * (k + 2) + kk)]) *
                          b_at(kk, j);
                ASSERT_NEAR(c[at], want, 1e-5) << m << "x" << n << "x" << k << " t" << transposed
                                               << " acc" << accumulate << " at " << i << "," << j;
              }
            }
          }
        }
      }
    }
  }
}

// The layer's step GEMMs through the packed kernel and through OpenBLAS give the same results.
TEST(RecurrentLayer, PackedAndBlasStepProductsAgree) {
  if (!cpu::avx512_available()) GTEST_SKIP() << "this CPU has no AVX-512F: only OpenBLAS runs";
  for (const CellType cell : {CellType::kRnn, CellType::kLstm, CellType::kGru}) {
    const int I = 6, H = 40, G = gate_count(cell);
    const PackedLayout layout = PackedLayout::from_lengths(std::vector<std::int32_t>{9, 3, 12, 1});
    std::mt19937 rng(8);
    std::uniform_real_distribution<float> uniform(-0.5f, 0.5f);
    const auto rows = static_cast<std::size_t>(layout.rows());
    const auto gh = static_cast<std::size_t>(G * H);
    std::vector<float> x(rows * I), dh(rows * H), params(gh * (I + H + 2));
    for (auto* v : {&x, &dh, &params})
      for (float& value : *v) value = uniform(rng);
    const RecurrentParams p{params.data(), params.data() + gh * I, params.data() + gh * (I + H),
                            params.data() + gh * (I + H + 1)};
    const auto run = [&](bool packed) {
      cpu::set_avx512_enabled(packed);
      RecurrentLayer layer(cell, I, H, false);
      std::vector<float> h(rows * H), dx(rows * I), grads(params.size(), 0.0f);
      const RecurrentGrads g{grads.data(), grads.data() + gh * I, grads.data() + gh * (I + H),
                             grads.data() + gh * (I + H + 1)};
      layer.forward(layout, x.data(), p, h.data(), H);
      layer.backward(layout, x.data(), h.data(), dh.data(), H, p, g, dx.data(), false);
      cpu::set_avx512_enabled(true);
      h.insert(h.end(), dx.begin(), dx.end());
      h.insert(h.end(), grads.begin(), grads.end());
      return h;
    };
    const std::vector<float> packed = run(true), blas = run(false);
    ASSERT_EQ(packed.size(), blas.size());
    for (std::size_t i = 0; i < packed.size(); ++i)
      ASSERT_NEAR(packed[i], blas[i], 1e-5f * (1 + std::abs(blas[i]))) << i;
  }
}

// The row-major GEMM wrapper against a plain loop, every transpose, and the BLAS it reports.
TEST(Sgemm, RowMajorTransposesMatchALoopAndTheKernelsAreNamed) {
  std::mt19937 rng(3);
  std::uniform_real_distribution<float> uniform(-1.0f, 1.0f);
  const int m = 5, n = 7, k = 3;
  std::vector<float> a(m * k), b(k * n);
  for (float& x : a) x = uniform(rng);
  for (float& x : b) x = uniform(rng);
  for (const bool ta : {false, true}) {
    for (const bool tb : {false, true}) {
      // Stored as op(A) = A or A^T: transposed storage is k x m (resp. n x k).
      std::vector<float> as(a.size()), bs(b.size());
      for (int i = 0; i < m; ++i)
        for (int p = 0; p < k; ++p) as[ta ? p * m + i : i * k + p] = a[i * k + p];
      for (int p = 0; p < k; ++p)
        for (int j = 0; j < n; ++j) bs[tb ? j * k + p : p * n + j] = b[p * n + j];
      std::vector<float> c(m * n, 1.0f);
      cpu::sgemm(ta ? cpu::Trans::kYes : cpu::Trans::kNo, tb ? cpu::Trans::kYes : cpu::Trans::kNo,
                 m, n, k, 2.0f, as.data(), ta ? m : k, bs.data(), tb ? k : n, 0.5f, c.data(), n);
      for (int i = 0; i < m; ++i) {
        for (int j = 0; j < n; ++j) {
          float want = 0.5f;
          for (int p = 0; p < k; ++p) want += 2.0f * a[i * k + p] * b[p * n + j];
          ASSERT_NEAR(c[i * n + j], want, 1e-5f) << ta << tb << " " << i << "," << j;
        }
      }
    }
  }
  EXPECT_EQ(cpu::blas_description().rfind("OpenBLAS ", 0), 0u) << cpu::blas_description();
  // Without OPENBLAS_CORETYPE there is nothing to advise.
  const char* forced = std::getenv("OPENBLAS_CORETYPE");
  const std::string saved = forced != nullptr ? forced : "";
  ::unsetenv("OPENBLAS_CORETYPE");
  EXPECT_EQ(cpu::blas_kernel_warning(), "");
  if (!saved.empty()) ::setenv("OPENBLAS_CORETYPE", saved.c_str(), 1);
}

}  // namespace
}  // namespace engine
