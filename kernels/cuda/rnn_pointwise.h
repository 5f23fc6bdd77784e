// CUDA launches of the recurrent cells' pointwise math for one packed step: the same
// kernels/math functions the CPU drivers (kernels/cpu/rnn_pointwise.h) call, one thread per
// (row, unit), grid-stride. All pointers are device memory, laid out as the CPU drivers' rows
// (G*H for p, u, dp, du; 4*H for keep; H for c, h): `rows` live rows, of which the first
// `with_state` continue a previous state (h_prev / c_prev rows, and u: the previous state times
// W_hh^T) and the rest start from zeros. Forward adds b_hh (G*H) to u itself, which saves a
// launch per step.
// Launches go on `stream` and are checked.
#pragma once

#include <cuda_runtime.h>

namespace engine::cuda {

void lstm_forward_step(int rows, int with_state, int H, const float* p, const float* u,
                       const float* b_hh, const float* c_prev, float* keep, float* c, float* h,
                       cudaStream_t stream);
void gru_forward_step(int rows, int with_state, int H, const float* p, const float* u,
                      const float* b_hh, const float* h_prev, float* keep, float* h,
                      cudaStream_t stream);
void rnn_forward_step(int rows, int with_state, int H, const float* p, const float* u,
                      const float* b_hh, float* h, cudaStream_t stream);

// dh: gradient from above; dh_carry / dc: per-row carries from the next step (see
// kernels/cpu/rnn_pointwise.h for what each becomes).
void lstm_backward_step(int rows, int with_state, int H, const float* keep, const float* c,
                        const float* c_prev, const float* dh, const float* dh_carry, float* dc,
                        float* dp, cudaStream_t stream);
void gru_backward_step(int rows, int with_state, int H, const float* keep, const float* h_prev,
                       const float* dh, float* dh_carry, float* dp, float* du, cudaStream_t stream);
void rnn_backward_step(int rows, int H, const float* h, const float* dh, const float* dh_carry,
                       float* dp, cudaStream_t stream);

}  // namespace engine::cuda
