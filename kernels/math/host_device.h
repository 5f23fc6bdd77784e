// ENGINE_HD marks per-element math that both backends run: __host__ __device__ under nvcc,
// plain inline in the CPU build. Everything in kernels/math is header-only and uses only
// functions that exist on both sides (expf, tanhf, sqrtf and their double forms).
#pragma once

#if defined(__CUDACC__)
#define ENGINE_HD __host__ __device__ inline
#else
#define ENGINE_HD inline
#endif
