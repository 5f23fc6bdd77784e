#include "kernels/cuda/check.h"
#include "kernels/cuda/launch.cuh"
#include "kernels/cuda/rnn_pointwise.h"
#include "kernels/math/rnn_cells.h"

namespace engine::cuda {

namespace {

// Calls unit(row, j) for every (row, unit) of a rows x H block.
template <typename Unit>
__device__ void for_each_unit(int rows, int H, Unit&& unit) {
  grid_stride(static_cast<long long>(rows) * H,
              [&](long long k) { unit(k / H, static_cast<int>(k % H)); });
}

// The recurrent pre-activation of gate unit k: the product (rows with a previous state) + b_hh.
__device__ float recurrent_input(const float* __restrict__ u, const float* __restrict__ b_hh,
                                 long long r, int with_state, int width, int k) {
  return (r < with_state ? u[r * width + k] : 0.0f) + b_hh[k];
}

__global__ void lstm_forward_kernel(int rows, int with_state, int H, const float* __restrict__ p,
                                    const float* __restrict__ u, const float* __restrict__ b_hh,
                                    const float* __restrict__ c_prev, float* __restrict__ keep,
                                    float* __restrict__ c, float* __restrict__ h) {
  for_each_unit(rows, H, [&](long long r, int j) {
    const float* pr = p + r * 4 * H;
    const auto ur = [&](int k) { return recurrent_input(u, b_hh, r, with_state, 4 * H, k); };
    const float previous = r < with_state ? c_prev[r * H + j] : 0.0f;
    const auto unit =
        math::lstm_forward(pr[j] + ur(j), pr[H + j] + ur(H + j), pr[2 * H + j] + ur(2 * H + j),
                           pr[3 * H + j] + ur(3 * H + j), previous);
    float* kr = keep + r * 4 * H;
    kr[j] = unit.i;
    kr[H + j] = unit.f;
    kr[2 * H + j] = unit.g;
    kr[3 * H + j] = unit.o;
    c[r * H + j] = unit.c;
    h[r * H + j] = unit.h;
  });
}

__global__ void gru_forward_kernel(int rows, int with_state, int H, const float* __restrict__ p,
                                   const float* __restrict__ u, const float* __restrict__ b_hh,
                                   const float* __restrict__ h_prev, float* __restrict__ keep,
                                   float* __restrict__ h) {
  for_each_unit(rows, H, [&](long long r, int j) {
    const float* pr = p + r * 3 * H;
    const auto ur = [&](int k) { return recurrent_input(u, b_hh, r, with_state, 3 * H, k); };
    const float previous = r < with_state ? h_prev[r * H + j] : 0.0f;
    const float u_n = ur(2 * H + j);
    const auto unit =
        math::gru_forward(pr[j], pr[H + j], pr[2 * H + j], ur(j), ur(H + j), u_n, previous);
    float* kr = keep + r * 4 * H;
    kr[j] = unit.r;
    kr[H + j] = unit.z;
    kr[2 * H + j] = unit.n;
    kr[3 * H + j] = u_n;
    h[r * H + j] = unit.h;
  });
}

__global__ void rnn_forward_kernel(int rows, int with_state, int H, const float* __restrict__ p,
                                   const float* __restrict__ u, const float* __restrict__ b_hh,
                                   float* __restrict__ h) {
  for_each_unit(rows, H, [&](long long r, int j) {
    h[r * H + j] = math::rnn_forward(p[r * H + j] + recurrent_input(u, b_hh, r, with_state, H, j));
  });
}

__global__ void lstm_backward_kernel(int rows, int with_state, int H,
                                     const float* __restrict__ keep, const float* __restrict__ c,
                                     const float* __restrict__ c_prev, const float* __restrict__ dh,
                                     const float* __restrict__ dh_carry, float* __restrict__ dc,
                                     float* __restrict__ dp) {
  for_each_unit(rows, H, [&](long long r, int j) {
    const bool has_previous = r < with_state;
    const float* kr = keep + r * 4 * H;
    const auto d = math::lstm_backward(kr[j], kr[H + j], kr[2 * H + j], kr[3 * H + j], c[r * H + j],
                                       has_previous ? c_prev[r * H + j] : 0.0f,
                                       dh[r * H + j] + dh_carry[r * H + j], dc[r * H + j]);
    float* dr = dp + r * 4 * H;
    dr[j] = d.da_i;
    dr[H + j] = d.da_f;
    dr[2 * H + j] = d.da_g;
    dr[3 * H + j] = d.da_o;
    dc[r * H + j] = has_previous ? d.dc_prev : 0.0f;
  });
}

__global__ void gru_backward_kernel(int rows, int with_state, int H, const float* __restrict__ keep,
                                    const float* __restrict__ h_prev, const float* __restrict__ dh,
                                    float* __restrict__ dh_carry, float* __restrict__ dp,
                                    float* __restrict__ du) {
  for_each_unit(rows, H, [&](long long r, int j) {
    const bool has_previous = r < with_state;
    const float* kr = keep + r * 4 * H;
    const auto d = math::gru_backward(kr[j], kr[H + j], kr[2 * H + j], kr[3 * H + j],
                                      has_previous ? h_prev[r * H + j] : 0.0f,
                                      dh[r * H + j] + dh_carry[r * H + j]);
    float* pr = dp + r * 3 * H;
    float* ur = du + r * 3 * H;
    pr[j] = d.dx_r;
    pr[H + j] = d.dx_z;
    pr[2 * H + j] = d.dx_n;
    ur[j] = d.du_r;
    ur[H + j] = d.du_z;
    ur[2 * H + j] = d.du_n;
    dh_carry[r * H + j] = has_previous ? d.dh_prev : 0.0f;
  });
}

__global__ void rnn_backward_kernel(int rows, int H, const float* __restrict__ h,
                                    const float* __restrict__ dh,
                                    const float* __restrict__ dh_carry, float* __restrict__ dp) {
  grid_stride(static_cast<long long>(rows) * H,
              [&](long long k) { dp[k] = math::rnn_backward(h[k], dh[k] + dh_carry[k]); });
}

long long units(int rows, int H) {
  return static_cast<long long>(rows) * H;
}

}  // namespace

void lstm_forward_step(int rows, int with_state, int H, const float* p, const float* u,
                       const float* b_hh, const float* c_prev, float* keep, float* c, float* h,
                       cudaStream_t stream) {
  lstm_forward_kernel<<<blocks_for(units(rows, H)), kThreads, 0, stream>>>(
      rows, with_state, H, p, u, b_hh, c_prev, keep, c, h);
  CHECK_CUDA(cudaGetLastError());
}

void gru_forward_step(int rows, int with_state, int H, const float* p, const float* u,
                      const float* b_hh, const float* h_prev, float* keep, float* h,
                      cudaStream_t stream) {
  gru_forward_kernel<<<blocks_for(units(rows, H)), kThreads, 0, stream>>>(rows, with_state, H, p, u,
                                                                          b_hh, h_prev, keep, h);
  CHECK_CUDA(cudaGetLastError());
}

void rnn_forward_step(int rows, int with_state, int H, const float* p, const float* u,
                      const float* b_hh, float* h, cudaStream_t stream) {
  rnn_forward_kernel<<<blocks_for(units(rows, H)), kThreads, 0, stream>>>(rows, with_state, H, p, u,
                                                                          b_hh, h);
  CHECK_CUDA(cudaGetLastError());
}

void lstm_backward_step(int rows, int with_state, int H, const float* keep, const float* c,
                        const float* c_prev, const float* dh, const float* dh_carry, float* dc,
                        float* dp, cudaStream_t stream) {
  lstm_backward_kernel<<<blocks_for(units(rows, H)), kThreads, 0, stream>>>(
      rows, with_state, H, keep, c, c_prev, dh, dh_carry, dc, dp);
  CHECK_CUDA(cudaGetLastError());
}

void gru_backward_step(int rows, int with_state, int H, const float* keep, const float* h_prev,
                       const float* dh, float* dh_carry, float* dp, float* du,
                       cudaStream_t stream) {
  gru_backward_kernel<<<blocks_for(units(rows, H)), kThreads, 0, stream>>>(
      rows, with_state, H, keep, h_prev, dh, dh_carry, dp, du);
  CHECK_CUDA(cudaGetLastError());
}

void rnn_backward_step(int rows, int H, const float* h, const float* dh, const float* dh_carry,
                       float* dp, cudaStream_t stream) {
  rnn_backward_kernel<<<blocks_for(units(rows, H)), kThreads, 0, stream>>>(rows, H, h, dh, dh_carry,
                                                                           dp);
  CHECK_CUDA(cudaGetLastError());
}

}  // namespace engine::cuda
