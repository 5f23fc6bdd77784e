#include "kernels/cpu/packed_gemm_avx512.h"

#include <immintrin.h>

#include <cstddef>

namespace engine::cpu::avx512 {

namespace {

constexpr int kPanel = 32;

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
    const __m512 b0 = _mm512_loadu_ps(panel + kk * kPanel);
    const __m512 b1 = _mm512_loadu_ps(panel + kk * kPanel + 16);
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
  // Masks only for a last, narrower panel: masked loads and stores of whole vectors ran far
  // slower than plain ones on AMD Zen 5.
  for (int r = 0; r < R; ++r) {
    float* row = c + static_cast<std::size_t>(r) * ldc;
    if (columns == kPanel) {
      if (accumulate) {
        sum[r][0] = _mm512_add_ps(_mm512_loadu_ps(row), sum[r][0]);
        sum[r][1] = _mm512_add_ps(_mm512_loadu_ps(row + 16), sum[r][1]);
      }
      _mm512_storeu_ps(row, sum[r][0]);
      _mm512_storeu_ps(row + 16, sum[r][1]);
      continue;
    }
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

// dst[c * dst_stride + r] = src[r * src_stride + c] for an 8 x 8 tile.
void transpose_tile(const float* src, std::ptrdiff_t src_stride, float* dst,
                    std::ptrdiff_t dst_stride) {
  __m256 r[8];
  for (int i = 0; i < 8; ++i) r[i] = _mm256_loadu_ps(src + i * src_stride);
  __m256 t[8];
  for (int i = 0; i < 8; i += 2) {
    t[i] = _mm256_unpacklo_ps(r[i], r[i + 1]);
    t[i + 1] = _mm256_unpackhi_ps(r[i], r[i + 1]);
  }
  __m256 u[8];
  for (int i = 0; i < 8; i += 4) {
    u[i] = _mm256_shuffle_ps(t[i], t[i + 2], _MM_SHUFFLE(1, 0, 1, 0));
    u[i + 1] = _mm256_shuffle_ps(t[i], t[i + 2], _MM_SHUFFLE(3, 2, 3, 2));
    u[i + 2] = _mm256_shuffle_ps(t[i + 1], t[i + 3], _MM_SHUFFLE(1, 0, 1, 0));
    u[i + 3] = _mm256_shuffle_ps(t[i + 1], t[i + 3], _MM_SHUFFLE(3, 2, 3, 2));
  }
  for (int i = 0; i < 4; ++i) {
    _mm256_storeu_ps(dst + i * dst_stride, _mm256_permute2f128_ps(u[i], u[i + 4], 0x20));
    _mm256_storeu_ps(dst + (i + 4) * dst_stride, _mm256_permute2f128_ps(u[i], u[i + 4], 0x31));
  }
}

}  // namespace

void transpose(const float* w, std::ptrdiff_t ldw, int n, int k, float* out, std::ptrdiff_t ldo) {
  const int n8 = n - n % 8, k8 = k - k % 8;
  for (int j = 0; j < n8; j += 8) {
    for (int kk = 0; kk < k8; kk += 8)
      transpose_tile(w + j * ldw + kk, ldw, out + kk * ldo + j, ldo);
  }
  for (int j = 0; j < n; ++j) {  // the edges
    for (int kk = j < n8 ? k8 : 0; kk < k; ++kk) out[kk * ldo + j] = w[j * ldw + kk];
  }
}

void gemm_packed(int m, const float* a, int lda, const float* panels, int k, int n, float* c,
                 int ldc, bool accumulate) {
  for (int p = 0; p * kPanel < n; ++p) {
    const int columns = n - p * kPanel < kPanel ? n - p * kPanel : kPanel;
    const float* panel = panels + static_cast<std::size_t>(p) * k * kPanel;
    for (int i = 0; i < m; i += 8) {
      const int rows = m - i < 8 ? m - i : 8;
      kBlocks[rows](a + static_cast<std::size_t>(i) * lda, lda, panel, k,
                    c + static_cast<std::size_t>(i) * ldc + p * kPanel, ldc, columns, accumulate);
    }
  }
}

}  // namespace engine::cpu::avx512
