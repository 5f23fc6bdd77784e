// Row-major single-precision GEMM through BLAS (OpenBLAS): C = alpha * op(A) op(B) + beta * C.
// The only way the CPU backend multiplies matrices; thread count is set once per process.
#pragma once

#include <string>

namespace engine::cpu {

enum class Trans { kNo, kYes };

// op(A) is m x k, op(B) is k x n, C is m x n; lda/ldb/ldc are row strides of A, B, C as stored.
void sgemm(Trans trans_a, Trans trans_b, int m, int n, int k, float alpha, const float* a, int lda,
           const float* b, int ldb, float beta, float* c, int ldc);

// Threads BLAS may use (OpenBLAS otherwise starts one per core on its own).
void set_blas_threads(int threads);

// Which kernels do the work, e.g. "OpenBLAS SkylakeX kernels".
std::string blas_description();
// Non-empty when OPENBLAS_CORETYPE holds OpenBLAS to kernels without AVX-512 on a CPU that has
// it (training ran 1.5x slower that way on an AVX-512 machine; bench/RESULTS.md).
std::string blas_kernel_warning();

}  // namespace engine::cpu
