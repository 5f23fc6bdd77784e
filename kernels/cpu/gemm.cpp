#include "kernels/cpu/gemm.h"

#include <cblas.h>

#include <cctype>
#include <cstdlib>

namespace engine::cpu {

void sgemm(Trans trans_a, Trans trans_b, int m, int n, int k, float alpha, const float* a, int lda,
           const float* b, int ldb, float beta, float* c, int ldc) {
  if (m == 0 || n == 0) return;
  cblas_sgemm(CblasRowMajor, trans_a == Trans::kYes ? CblasTrans : CblasNoTrans,
              trans_b == Trans::kYes ? CblasTrans : CblasNoTrans, m, n, k, alpha, a, lda, b, ldb,
              beta, c, ldc);
}

void set_blas_threads(int threads) {
  openblas_set_num_threads(threads);
}

std::string blas_description() {
  return std::string("OpenBLAS ") + openblas_get_corename() + " kernels";
}

std::string blas_kernel_warning() {
  const char* forced = std::getenv("OPENBLAS_CORETYPE");
  if (forced == nullptr || *forced == '\0' || !__builtin_cpu_supports("avx512f")) return "";
  std::string core = openblas_get_corename();
  for (char& c : core) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  for (const char* avx512 : {"skylakex", "cooperlake", "sapphirerapids"}) {
    if (core == avx512) return "";
  }
  return std::string("OPENBLAS_CORETYPE=") + forced + " holds OpenBLAS to its " +
         openblas_get_corename() +
         " kernels, but this CPU has AVX-512: unset it (or set SkylakeX) for faster GEMMs";
}

}  // namespace engine::cpu
