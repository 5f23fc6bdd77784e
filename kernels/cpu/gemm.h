// Row-major single-precision GEMM through BLAS (OpenBLAS): C = alpha * op(A) op(B) + beta * C.
// The only way the CPU backend multiplies matrices; thread count is set once per process.
#pragma once

namespace engine::cpu {

enum class Trans { kNo, kYes };

// op(A) is m x k, op(B) is k x n, C is m x n; lda/ldb/ldc are row strides of A, B, C as stored.
void sgemm(Trans trans_a, Trans trans_b, int m, int n, int k, float alpha, const float* a, int lda,
           const float* b, int ldb, float beta, float* c, int ldc);

// Threads BLAS may use (OpenBLAS otherwise starts one per core on its own).
void set_blas_threads(int threads);

}  // namespace engine::cpu
