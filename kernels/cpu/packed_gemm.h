// A small-M GEMM whose B operand is packed once and reused: the recurrent layer's per-step
// product (the live rows' previous state times W_hh, and its gradient) multiplies the same W_hh
// at every step, and OpenBLAS repacked all of it on every call (12-19% of a training step; on
// these shapes it reached 40-160 GFLOP/s where this kernel holds ~180). B is stored in panels of
// 32 columns, each k x 32 and zero-padded, so an 8-row x 32-column block of C lives in 16
// AVX-512 registers for the whole k loop, and A is read in place (row-major, no packing).
// Needs AVX-512F at run time: call gemm_packed only when avx512_available() (kernels/cpu/avx512.h;
// callers use cpu::sgemm otherwise).
// Products are summed over k in order, so results are deterministic (they differ from
// OpenBLAS's in the last bits).
#pragma once

#include <vector>

namespace engine::cpu {

class PackedB {
 public:
  static constexpr int kPanel = 32;

  // B = W^T for W [n x k] row-major with row stride ldw (the forward product h_prev W_hh^T).
  void pack_transposed(const float* w, int n, int k, int ldw);
  // B = W for W [k x n] row-major with row stride ldw (the backward product d_gates W_hh).
  void pack(const float* w, int k, int n, int ldw);

  int k() const { return k_; }
  int n() const { return n_; }
  const float* panel(int p) const {
    return data_.data() + static_cast<std::size_t>(p) * k_ * kPanel;
  }

 private:
  void resize(int k, int n);

  int k_ = 0;
  int n_ = 0;
  std::vector<float> data_;  // panel p, row kk, column c at (p * k + kk) * kPanel + c
};

// C [m x b.n()] = (accumulate ? C : 0) + A [m x b.k()] * B; A and C row-major with strides.
void gemm_packed(int m, const float* a, int lda, const PackedB& b, float* c, int ldc,
                 bool accumulate);

}  // namespace engine::cpu
