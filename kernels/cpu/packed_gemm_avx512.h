// The AVX-512 body of gemm_packed (kernels/cpu/packed_gemm.h), in its own file because only that
// file is built with -mavx512f. It takes raw pointers and uses no standard-library templates: an
// out-of-line copy of a shared template built there could be the one the linker keeps for every
// caller, and then run on CPUs without AVX-512.
#pragma once

#include <cstddef>

namespace engine::cpu::avx512 {

// C [m x n] = (accumulate ? C : 0) + A [m x k] * B, B in 32-column panels of k x 32 floats.
void gemm_packed(int m, const float* a, int lda, const float* panels, int k, int n, float* c,
                 int ldc, bool accumulate);

// out[kk * ldo + j] = w[j * ldw + kk] for j < n, kk < k, in 8 x 8 tiles.
void transpose(const float* w, std::ptrdiff_t ldw, int n, int k, float* out, std::ptrdiff_t ldo);

}  // namespace engine::cpu::avx512
