// CUDA launches of the recurrent cells' pointwise math: the same kernels/math functions the
// CPU drivers (kernels/cpu/rnn_pointwise.h) call, one thread per (row, unit), grid-stride.
// All pointers are device memory; layouts match the CPU drivers' with `rows` rows of
// G*H (p, u, dp), 4*H (keep) and H (c, h) values. Launches go on `stream` and are checked.
#pragma once

#include <cuda_runtime.h>

namespace engine::cuda {

void lstm_forward_rows(int rows, int H, const float* p, const float* u, const float* c_prev,
                       float* keep, float* c, float* h, cudaStream_t stream);
void gru_forward_rows(int rows, int H, const float* p, const float* u, const float* h_prev,
                      float* keep, float* h, cudaStream_t stream);

}  // namespace engine::cuda
