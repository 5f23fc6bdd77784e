// Launch shapes shared by the .cu files: 256-thread blocks, a grid capped at 65535 blocks, and
// grid-stride loops, so any problem size runs with one launch.
#pragma once

namespace engine::cuda {

constexpr int kThreads = 256;

inline int blocks_for(long long work) {
  const long long blocks = (work + kThreads - 1) / kThreads;
  return static_cast<int>(blocks < 65535 ? (blocks > 0 ? blocks : 1) : 65535);
}

// Calls body(k) for every k < count, grid-stride.
template <typename Body>
__device__ void grid_stride(long long count, Body&& body) {
  for (long long k = blockIdx.x * static_cast<long long>(blockDim.x) + threadIdx.x; k < count;
       k += static_cast<long long>(gridDim.x) * blockDim.x) {
    body(k);
  }
}

}  // namespace engine::cuda
