#include "kernels/cpu/packed_gemm.h"

#include <algorithm>
#include <stdexcept>

#include "kernels/cpu/avx512.h"
#include "kernels/cpu/packed_gemm_avx512.h"

namespace engine::cpu {

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
  if (!avx512_available()) throw std::logic_error("gemm_packed: not available on this CPU");
  avx512::gemm_packed(m, a, lda, b.panel(0), b.k(), b.n(), c, ldc, accumulate);
}

}  // namespace engine::cpu
