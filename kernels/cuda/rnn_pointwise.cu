#include "kernels/cuda/check.h"
#include "kernels/cuda/rnn_pointwise.h"
#include "kernels/math/rnn_cells.h"

namespace engine::cuda {

namespace {

constexpr int kThreads = 256;

int blocks_for(long long work) {
  const long long blocks = (work + kThreads - 1) / kThreads;
  return static_cast<int>(blocks < 65535 ? (blocks > 0 ? blocks : 1) : 65535);
}

// Calls unit(row, j) for every (row, unit) of a rows x H block, grid-stride.
template <typename Unit>
__device__ void for_each_unit(int rows, int H, Unit&& unit) {
  const long long total = static_cast<long long>(rows) * H;
  for (long long k = blockIdx.x * static_cast<long long>(blockDim.x) + threadIdx.x; k < total;
       k += static_cast<long long>(gridDim.x) * blockDim.x) {
    unit(k / H, static_cast<int>(k % H));
  }
}

__global__ void lstm_forward_kernel(int rows, int H, const float* __restrict__ p,
                                    const float* __restrict__ u, const float* __restrict__ c_prev,
                                    float* __restrict__ keep, float* __restrict__ c,
                                    float* __restrict__ h) {
  for_each_unit(rows, H, [&](long long r, int j) {
    const float* pr = p + r * 4 * H;
    const float* ur = u + r * 4 * H;
    const auto unit =
        math::lstm_forward(pr[j] + ur[j], pr[H + j] + ur[H + j], pr[2 * H + j] + ur[2 * H + j],
                           pr[3 * H + j] + ur[3 * H + j], c_prev[r * H + j]);
    float* kr = keep + r * 4 * H;
    kr[j] = unit.i;
    kr[H + j] = unit.f;
    kr[2 * H + j] = unit.g;
    kr[3 * H + j] = unit.o;
    c[r * H + j] = unit.c;
    h[r * H + j] = unit.h;
  });
}

__global__ void gru_forward_kernel(int rows, int H, const float* __restrict__ p,
                                   const float* __restrict__ u, const float* __restrict__ h_prev,
                                   float* __restrict__ keep, float* __restrict__ h) {
  for_each_unit(rows, H, [&](long long r, int j) {
    const float* pr = p + r * 3 * H;
    const float* ur = u + r * 3 * H;
    const auto unit = math::gru_forward(pr[j], pr[H + j], pr[2 * H + j], ur[j], ur[H + j],
                                        ur[2 * H + j], h_prev[r * H + j]);
    float* kr = keep + r * 4 * H;
    kr[j] = unit.r;
    kr[H + j] = unit.z;
    kr[2 * H + j] = unit.n;
    kr[3 * H + j] = ur[2 * H + j];
    h[r * H + j] = unit.h;
  });
}

}  // namespace

void lstm_forward_rows(int rows, int H, const float* p, const float* u, const float* c_prev,
                       float* keep, float* c, float* h, cudaStream_t stream) {
  lstm_forward_kernel<<<blocks_for(static_cast<long long>(rows) * H), kThreads, 0, stream>>>(
      rows, H, p, u, c_prev, keep, c, h);
  CHECK_CUDA(cudaGetLastError());
}

void gru_forward_rows(int rows, int H, const float* p, const float* u, const float* h_prev,
                      float* keep, float* h, cudaStream_t stream) {
  gru_forward_kernel<<<blocks_for(static_cast<long long>(rows) * H), kThreads, 0, stream>>>(
      rows, H, p, u, h_prev, keep, h);
  CHECK_CUDA(cudaGetLastError());
}

}  // namespace engine::cuda
