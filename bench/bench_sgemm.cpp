// bench_sgemm: the machine's SGEMM rate through our BLAS wrapper (best of N runs of an
// n x n x n product), the peak bench/train_bench.py compares training throughput with.
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <vector>

#include "kernels/cpu/gemm.h"

int main(int argc, char** argv) {
  const int n = argc > 1 ? std::atoi(argv[1]) : 2048;
  const int threads = argc > 2 ? std::atoi(argv[2]) : 1;
  const int repeats = argc > 3 ? std::atoi(argv[3]) : 5;
  engine::cpu::set_blas_threads(threads);
  std::vector<float> a(static_cast<std::size_t>(n) * n, 0.5f), b(a.size(), 0.25f), c(a.size());
  double best = 1e30;
  for (int r = 0; r < repeats; ++r) {
    const auto start = std::chrono::steady_clock::now();
    engine::cpu::sgemm(engine::cpu::Trans::kNo, engine::cpu::Trans::kNo, n, n, n, 1.0f, a.data(), n,
                       b.data(), n, 0.0f, c.data(), n);
    best = std::min(
        best, std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
  }
  std::printf("sgemm n=%d threads=%d gflops=%.1f\n", n, threads, 2.0 * n * n * n / best / 1e9);
  return 0;
}
