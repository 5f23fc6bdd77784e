// The CUDA pass of dynamic loss scaling: the same kernels/math function as the CPU driver
// (kernels/cpu/loss_scale.h), one thread per gradient, grid-stride; `found_non_finite` is a
// device int set to 1 by any thread that sees inf or NaN (the caller zeroes it first).
#pragma once

#include <cuda_runtime.h>

namespace engine::cuda {

void unscale_and_check(float* grads, long long count, float inverse_scale, int* found_non_finite,
                       cudaStream_t stream);

}  // namespace engine::cuda
