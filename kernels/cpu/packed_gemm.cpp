#include "kernels/cpu/packed_gemm.h"

#include <algorithm>
#include <stdexcept>

#include "kernels/cpu/avx512.h"
#include "kernels/cpu/packed_gemm_avx512.h"

namespace engine::cpu {

void PackedB::resize(int k, int n) {
  k_ = k;
  n_ = n;
  const int panels = (n + kPanel - 1) / kPanel;
  data_.resize(static_cast<std::size_t>(panels) * k * kPanel);
  // The last panel's columns beyond n are zero (the kernel multiplies them; stores skip them).
  const int used = n - (panels - 1) * kPanel;
  if (used == kPanel) return;
  float* last = data_.data() + static_cast<std::size_t>(panels - 1) * k * kPanel;
  for (int kk = 0; kk < k; ++kk) {
    std::fill(last + static_cast<std::size_t>(kk) * kPanel + used,
              last + static_cast<std::size_t>(kk + 1) * kPanel, 0.0f);
  }
}

void PackedB::pack_transposed(const float* w, int n, int k, int ldw) {
  if (!avx512_available()) throw std::logic_error("PackedB: not available on this CPU");
  resize(k, n);
  for (int j = 0; j < n; j += kPanel) {  // each panel is a transpose of 32 rows of W
    avx512::transpose(w + static_cast<std::size_t>(j) * ldw, ldw, std::min(kPanel, n - j), k,
                      data_.data() + static_cast<std::size_t>(j) * k, kPanel);
  }
}

void PackedB::pack(const float* w, int k, int n, int ldw) {
  resize(k, n);
  const int panels = (n + kPanel - 1) / kPanel;
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
  if (!avx512_available()) throw std::logic_error("gemm_packed: not available on this CPU");
  avx512::gemm_packed(m, a, lda, b.panel(0), b.k(), b.n(), c, ldc, accumulate);
}

}  // namespace engine::cpu
