#include "kernels/cuda/check.h"
#include "kernels/cuda/loss_scale.h"
#include "kernels/math/loss_scale.h"

namespace engine::cuda {

namespace {

constexpr int kThreads = 256;

__global__ void unscale_and_check_kernel(float* __restrict__ grads, long long count,
                                         float inverse_scale, int* found_non_finite) {
  bool non_finite = false;
  for (long long k = blockIdx.x * static_cast<long long>(blockDim.x) + threadIdx.x; k < count;
       k += static_cast<long long>(gridDim.x) * blockDim.x) {
    grads[k] = math::unscale(grads[k], inverse_scale, non_finite);
  }
  if (non_finite) *found_non_finite = 1;  // any writer wins; all write the same value
}

}  // namespace

void unscale_and_check(float* grads, long long count, float inverse_scale, int* found_non_finite,
                       cudaStream_t stream) {
  const long long blocks = (count + kThreads - 1) / kThreads;
  unscale_and_check_kernel<<<static_cast<int>(blocks < 65535 ? (blocks > 0 ? blocks : 1) : 65535),
                             kThreads, 0, stream>>>(grads, count, inverse_scale, found_non_finite);
  CHECK_CUDA(cudaGetLastError());
}

}  // namespace engine::cuda
