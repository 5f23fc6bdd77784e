// Whether the CPU backend's AVX-512 kernels run (the packed GEMM, the LSTM row loops): the CPU
// must report AVX-512F, and tests can turn them off to exercise the portable paths. Each kernel
// lives in a file of its own built with -mavx512f and is entered only behind this check.
#pragma once

namespace engine::cpu {

bool avx512_available();
// Turns the AVX-512 kernels off (false) or back on where the CPU has them.
void set_avx512_enabled(bool enabled);

}  // namespace engine::cpu
