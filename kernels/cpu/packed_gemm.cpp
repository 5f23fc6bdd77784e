// Built with -mavx512f (kernels/CMakeLists.txt): nothing here may run unless
// packed_gemm_available() (gemm.cpp, built for every x86-64) said yes.
#include "kernels/cpu/packed_gemm.h"

#include <immintrin.h>

#include <algorithm>
#include <stdexcept>

namespace engine::cpu {

namespace {

// R rows of C (R <= 8) by one panel: 2R accumulators of 16 floats over the whole k.
template <int R>
void block(const float* a, int lda, const float* panel, int k, float* c, int ldc, int columns,
           bool accumulate) {
  __m512 sum[R][2];
  for (int r = 0; r < R; ++r) {
    sum[r][0] = _mm512_setzero_ps();
    sum[r][1] = _mm512_setzero_ps();
  }
  for (int kk = 0; kk < k; ++kk) {
    const __m512 b0 = _mm512_loadu_ps(panel + kk * PackedB::kPanel);
    const __m512 b1 = _mm512_loadu_ps(panel + kk * PackedB::kPanel + 16);
    for (int r = 0; r < R; ++r) {
      const __m512 value = _mm512_set1_ps(a[static_cast<std::size_t>(r) * lda + kk]);
      sum[r][0] = _mm512_fmadd_ps(value, b0, sum[r][0]);
      sum[r][1] = _mm512_fmadd_ps(value, b1, sum[r][1]);
    }
  }
  const auto low = static_cast<__mmask16>(columns >= 16 ? 0xFFFF : (1u << columns) - 1);
  const auto high = static_cast<__mmask16>(columns >= 32   ? 0xFFFF
                                           : columns <= 16 ? 0
                                                           : (1u << (columns - 16)) - 1);
  for (int r = 0; r < R; ++r) {
    float* row = c + static_cast<std::size_t>(r) * ldc;
    if (accumulate) {
      sum[r][0] = _mm512_add_ps(_mm512_maskz_loadu_ps(low, row), sum[r][0]);
      sum[r][1] = _mm512_add_ps(_mm512_maskz_loadu_ps(high, row + 16), sum[r][1]);
    }
    _mm512_mask_storeu_ps(row, low, sum[r][0]);
    _mm512_mask_storeu_ps(row + 16, high, sum[r][1]);
  }
}

using BlockFunction = void (*)(const float*, int, const float*, int, float*, int, int, bool);
constexpr BlockFunction kBlocks[9] = {nullptr,  block<1>, block<2>, block<3>, block<4>,
                                      block<5>, block<6>, block<7>, block<8>};

}  // namespace

void PackedB::pack_transposed(const float* w, int n, int k, int ldw) {
  k_ = k;
  n_ = n;
  const int panels = (n + kPanel - 1) / kPanel;
  data_.assign(static_cast<std::size_t>(panels) * k * kPanel, 0.0f);
  for (int j = 0; j < n; ++j) {
    float* out = data_.data() + static_cast<std::size_t>(j / kPanel) * k * kPanel + j % kPanel;
    const float* in = w + static_cast<std::size_t>(j) * ldw;
    for (int kk = 0; kk < k; ++kk) out[static_cast<std::size_t>(kk) * kPanel] = in[kk];
  }
}

void PackedB::pack(const float* w, int k, int n, int ldw) {
  k_ = k;
  n_ = n;
  const int panels = (n + kPanel - 1) / kPanel;
  data_.assign(static_cast<std::size_t>(panels) * k * kPanel, 0.0f);
  for (int p = 0; p < panels; ++p) {
    const int columns = std::min(kPanel, n - p * kPanel);
    for (int kk = 0; kk < k; ++kk) {
      const float* in = w + static_cast<std::size_t>(kk) * ldw + p * kPanel;
      std::copy(in, in + columns, data_.data() + (static_cast<std::size_t>(p) * k + kk) * kPanel);
    }
  }
}

void gemm_packed(int m, const float* a, int lda, const PackedB& b, float* c, int ldc,
                 bool accumulate) {
  if (!packed_gemm_available()) throw std::logic_error("gemm_packed: not available on this CPU");
  const int panels = (b.n() + PackedB::kPanel - 1) / PackedB::kPanel;
  for (int p = 0; p < panels; ++p) {
    const int columns = std::min(PackedB::kPanel, b.n() - p * PackedB::kPanel);
    float* c_panel = c + p * PackedB::kPanel;
    for (int i = 0; i < m; i += 8) {
      const int rows = std::min(8, m - i);
      kBlocks[rows](a + static_cast<std::size_t>(i) * lda, lda, b.panel(p), b.k(),
                    c_panel + static_cast<std::size_t>(i) * ldc, ldc, columns, accumulate);
    }
  }
}

}  // namespace engine::cpu
