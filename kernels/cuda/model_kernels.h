// The CUDA kernels of a model step besides the recurrent cells (kernels/cuda/rnn_pointwise.h):
// each a grid-stride launch over the kernels/math function the CPU backend calls for the same
// job. All pointers are device memory; every launch goes on `stream` and is checked.
#pragma once

#include <cuda_runtime.h>

#include <cstdint>

#include "kernels/math/optimizers.h"

namespace engine::cuda {

// Embedding: out[r] = table[ids[r]]; and its backward through a token-grouped plan (see
// engine::ScatterPlan): one thread per (token, column) sums that token's rows in order.
void gather_rows(const std::int32_t* ids, int rows, int width, const float* table, float* out,
                 cudaStream_t stream);
// out[ids[r]] = source[r].
void scatter_rows(const std::int32_t* ids, int rows, int width, const float* source, float* out,
                  cudaStream_t stream);
// out[r] = source[previous[r]], or zeros where previous[r] < 0.
void gather_previous(const std::int32_t* previous, int rows, int width, const float* source,
                     float* out, cudaStream_t stream);
void scatter_add_rows(int unique, const std::int32_t* tokens, const std::int32_t* starts,
                      const std::int32_t* rows, int width, const float* d_rows, float* table_grad,
                      cudaStream_t stream);
void dropout(float* values, long long count, std::uint64_t seed, std::uint32_t stream_id,
             std::uint64_t step, float p, cudaStream_t stream);

void add_row_vector(float* matrix, int rows, int columns, const float* vector, cudaStream_t stream);
// sums[j] += sum over rows of matrix[r][j], each column summed in row order by one thread.
void add_column_sums(const float* matrix, int rows, int columns, float* sums, cudaStream_t stream);
void accumulate(float* destination, const float* source, long long count, cudaStream_t stream);
void scale(float* values, long long count, float factor, cudaStream_t stream);

// Readout (engine::Readout as an int: 0 last, 1 mean, 2 max) over a packed top layer.
void readout_forward(int readout, int sequences, int hidden, int features, bool bidirectional,
                     const std::int32_t* lengths, const std::int32_t* step_offsets,
                     const float* top, float* out, std::int32_t* argmax_rows, cudaStream_t stream);
void readout_backward(int readout, int sequences, int hidden, int features, bool bidirectional,
                      const std::int32_t* lengths, const std::int32_t* step_offsets,
                      const float* d_features, const std::int32_t* argmax_rows, float* d_top,
                      cudaStream_t stream);
// Dense-layer activation (0 relu, 1 tanh) and its backward (grad *= f'(pre)).
void activation_forward(int activation, const float* pre, float* out, long long count,
                        cudaStream_t stream);
void activation_backward(int activation, const float* pre, const float* out, float* grad,
                         long long count, cudaStream_t stream);
// One thread per row: math::softmax_xent_row, plus the first argmax as the prediction.
void softmax_xent(const float* logits, int rows, int classes, const std::int32_t* labels,
                  const float* class_weights, float smoothing, float scale, float* losses,
                  std::int32_t* predictions, float* d_logits, cudaStream_t stream);

void adam_update(float* values, const float* grads, float* first, float* second, long long count,
                 const math::AdamStep& step, cudaStream_t stream);
void sgd_update(float* values, const float* grads, float* buffer, long long count,
                const math::SgdStep& step, cudaStream_t stream);

// The loss-scaling pass: grads *= inverse_scale, *found_non_finite = 1 on any inf/NaN, and each
// of kNormBlocks blocks writes the sum of its squared (unscaled) values to partial_sums, which
// the host adds in block order (deterministic, no atomics on doubles).
constexpr int kNormBlocks = 512;
void unscale_check_norm(float* grads, long long count, float inverse_scale, int* found_non_finite,
                        double* partial_sums, cudaStream_t stream);

// fp32 -> fp16 (round to nearest even) for GEMM operands: rows x columns of a strided source into
// a packed destination (half bits as uint16).
void to_half(const float* source, int rows, int columns, int stride, std::uint16_t* destination,
             cudaStream_t stream);

// fp16 -> fp32: destination = source, or destination += source (weight gradients from cuDNN).
void from_half(const std::uint16_t* source, long long count, float* destination,
               cudaStream_t stream);
void accumulate_from_half(const std::uint16_t* source, long long count, float* destination,
                          cudaStream_t stream);

}  // namespace engine::cuda
