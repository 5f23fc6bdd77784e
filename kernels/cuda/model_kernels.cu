#include <cuda_fp16.h>

#include <algorithm>

#include "kernels/cuda/check.h"
#include "kernels/cuda/launch.cuh"
#include "kernels/cuda/model_kernels.h"
#include "kernels/math/dropout.h"
#include "kernels/math/loss_scale.h"
#include "kernels/math/softmax_xent.h"

namespace engine::cuda {

namespace {

__host__ __device__ long long cells(int rows, int columns) {
  return static_cast<long long>(rows) * columns;
}

__global__ void gather_rows_kernel(const std::int32_t* __restrict__ ids, int rows, int width,
                                   const float* __restrict__ table, float* __restrict__ out) {
  grid_stride(cells(rows, width), [&](long long k) {
    const long long r = k / width;
    out[k] = table[static_cast<long long>(ids[r]) * width + k % width];
  });
}

__global__ void scatter_rows_kernel(const std::int32_t* __restrict__ ids, int rows, int width,
                                    const float* __restrict__ source, float* __restrict__ out) {
  grid_stride(cells(rows, width), [&](long long k) {
    out[static_cast<long long>(ids[k / width]) * width + k % width] = source[k];
  });
}

__global__ void gather_previous_kernel(const std::int32_t* __restrict__ previous, int rows,
                                       int width, const float* __restrict__ source,
                                       float* __restrict__ out) {
  grid_stride(cells(rows, width), [&](long long k) {
    const std::int32_t from = previous[k / width];
    out[k] = from < 0 ? 0.0f : source[static_cast<long long>(from) * width + k % width];
  });
}

__global__ void scatter_add_rows_kernel(int unique, const std::int32_t* __restrict__ tokens,
                                        const std::int32_t* __restrict__ starts,
                                        const std::int32_t* __restrict__ rows, int width,
                                        const float* __restrict__ d_rows,
                                        float* __restrict__ table_grad) {
  grid_stride(cells(unique, width), [&](long long k) {
    const long long u = k / width;
    const long long j = k % width;
    float sum = 0.0f;
#pragma unroll 4  // a frequent token has thousands of rows: keep several loads in flight
    for (int i = starts[u]; i < starts[u + 1]; ++i)
      sum += d_rows[rows[i] * static_cast<long long>(width) + j];
    table_grad[static_cast<long long>(tokens[u]) * width + j] += sum;
  });
}

__global__ void dropout_kernel(float* values, long long count, std::uint64_t seed,
                               std::uint32_t stream_id, std::uint64_t step, float p) {
  grid_stride(count, [&](long long k) {
    values[k] *= math::dropout_scale(seed, stream_id, step, static_cast<std::uint64_t>(k), p);
  });
}

__global__ void add_row_vector_kernel(float* matrix, int rows, int columns,
                                      const float* __restrict__ vector) {
  grid_stride(cells(rows, columns), [&](long long k) { matrix[k] += vector[k % columns]; });
}

// Column sums: a block per group of kSumColumns columns, whose kSumRows x kSumColumns threads
// each sum every kSumRows-th row of one column (a warp reads adjacent columns of a row), then
// one row of threads adds the group's partial sums in a fixed order: deterministic, and the
// rows are read by many warps at once. (One thread per column looping over every row left the
// GPU waiting on one load at a time: milliseconds per bias gradient at batch 512.)
constexpr int kSumColumns = 32;
constexpr int kSumRows = 32;

__global__ void add_column_sums_kernel(const float* __restrict__ matrix, int rows, int columns,
                                       float* __restrict__ sums) {
  __shared__ float partial[kSumRows][kSumColumns + 1];  // +1: no bank conflicts on the way down
  for (int group = blockIdx.x; group * kSumColumns < columns; group += gridDim.x) {
    const int j = group * kSumColumns + static_cast<int>(threadIdx.x);
    float sum = 0.0f;
    if (j < columns) {
#pragma unroll 4
      for (int r = static_cast<int>(threadIdx.y); r < rows; r += kSumRows)
        sum += matrix[r * static_cast<long long>(columns) + j];
    }
    partial[threadIdx.y][threadIdx.x] = sum;
    __syncthreads();
    if (threadIdx.y == 0 && j < columns) {
      float total = sums[j];
      for (int k = 0; k < kSumRows; ++k) total += partial[k][threadIdx.x];
      sums[j] = total;
    }
    __syncthreads();  // the next group reuses partial
  }
}

__global__ void accumulate_kernel(float* destination, const float* __restrict__ source,
                                  long long count) {
  grid_stride(count, [&](long long k) { destination[k] += source[k]; });
}

__global__ void scale_kernel(float* values, long long count, float factor) {
  grid_stride(count, [&](long long k) { values[k] *= factor; });
}

// One thread per (sequence, feature).
__global__ void readout_forward_kernel(int readout, int sequences, int hidden, int features,
                                       bool bidirectional, const std::int32_t* __restrict__ lengths,
                                       const std::int32_t* __restrict__ step_offsets,
                                       const float* __restrict__ top, float* __restrict__ out,
                                       std::int32_t* __restrict__ argmax_rows) {
  grid_stride(cells(sequences, features), [&](long long k) {
    const int s = static_cast<int>(k / features);
    const int j = static_cast<int>(k % features);
    const int length = lengths[s];
    const auto value_at = [&](int t) {
      return top[static_cast<long long>(step_offsets[t] + s) * features + j];
    };
    if (readout == 0) {  // last: forward half at the last step, reverse half at the first
      out[k] = value_at(bidirectional && j >= hidden ? 0 : length - 1);
    } else if (readout == 1) {
      float sum = 0.0f;
      for (int t = 0; t < length; ++t) sum += value_at(t);
      out[k] = sum / static_cast<float>(length);
    } else {
      float best = value_at(0);
      int best_row = step_offsets[0] + s;
      for (int t = 1; t < length; ++t) {
        const float v = value_at(t);
        if (v > best) {
          best = v;
          best_row = step_offsets[t] + s;
        }
      }
      out[k] = best;
      argmax_rows[k] = best_row;
    }
  });
}

// Each (sequence, feature) writes rows no other thread writes: no atomics.
__global__ void readout_backward_kernel(int readout, int sequences, int hidden, int features,
                                        bool bidirectional,
                                        const std::int32_t* __restrict__ lengths,
                                        const std::int32_t* __restrict__ step_offsets,
                                        const float* __restrict__ d_features,
                                        const std::int32_t* __restrict__ argmax_rows,
                                        float* __restrict__ d_top) {
  grid_stride(cells(sequences, features), [&](long long k) {
    const int s = static_cast<int>(k / features);
    const int j = static_cast<int>(k % features);
    const int length = lengths[s];
    const auto at = [&](long long row) { return row * features + j; };
    if (readout == 0) {
      const int t = bidirectional && j >= hidden ? 0 : length - 1;
      d_top[at(step_offsets[t] + s)] += d_features[k];
    } else if (readout == 1) {
      const float share = d_features[k] / static_cast<float>(length);
      for (int t = 0; t < length; ++t) d_top[at(step_offsets[t] + s)] += share;
    } else {
      d_top[at(argmax_rows[k])] += d_features[k];
    }
  });
}

__global__ void activation_forward_kernel(int activation, const float* __restrict__ pre,
                                          float* __restrict__ out, long long count) {
  grid_stride(count,
              [&](long long k) { out[k] = activation == 0 ? fmaxf(pre[k], 0.0f) : tanhf(pre[k]); });
}

__global__ void activation_backward_kernel(int activation, const float* __restrict__ pre,
                                           const float* __restrict__ out, float* grad,
                                           long long count) {
  grid_stride(count, [&](long long k) {
    grad[k] *= activation == 0 ? (pre[k] > 0.0f ? 1.0f : 0.0f) : 1.0f - out[k] * out[k];
  });
}

__global__ void softmax_xent_kernel(const float* __restrict__ logits, int rows, int classes,
                                    const std::int32_t* __restrict__ labels,
                                    const float* __restrict__ class_weights, float smoothing,
                                    float scale, float* __restrict__ losses,
                                    std::int32_t* __restrict__ predictions,
                                    float* __restrict__ d_logits) {
  grid_stride(rows, [&](long long r) {
    const float* row = logits + r * classes;
    const int label = labels[r];
    int best = 0;
    for (int k = 1; k < classes; ++k) best = row[k] > row[best] ? k : best;
    predictions[r] = best;
    const float weight = class_weights == nullptr ? 1.0f : class_weights[label];
    losses[r] = math::softmax_xent_row(row, classes, label, smoothing, weight, scale,
                                       d_logits == nullptr ? nullptr : d_logits + r * classes);
  });
}

__global__ void adam_kernel(float* __restrict__ values, const float* __restrict__ grads,
                            float* __restrict__ first, float* __restrict__ second, long long count,
                            math::AdamStep step) {
  grid_stride(count, [&](long long k) {
    math::adam_update(values[k], grads[k], first[k], second[k], step);
  });
}

__global__ void sgd_kernel(float* __restrict__ values, const float* __restrict__ grads,
                           float* __restrict__ buffer, long long count, math::SgdStep step) {
  grid_stride(count, [&](long long k) { math::sgd_update(values[k], grads[k], buffer[k], step); });
}

__global__ void unscale_check_norm_kernel(float* __restrict__ grads, long long count,
                                          float inverse_scale, int* found_non_finite,
                                          double* __restrict__ partial_sums) {
  __shared__ double block_sums[kThreads];
  bool non_finite = false;
  double sum = 0.0;
  grid_stride(count, [&](long long k) {
    const float g = math::unscale(grads[k], inverse_scale, non_finite);
    grads[k] = g;
    sum += static_cast<double>(g) * g;
  });
  if (non_finite) *found_non_finite = 1;  // any writer wins; all write the same value
  block_sums[threadIdx.x] = sum;
  __syncthreads();
  for (int half = kThreads / 2; half > 0; half /= 2) {
    if (static_cast<int>(threadIdx.x) < half)
      block_sums[threadIdx.x] += block_sums[threadIdx.x + half];
    __syncthreads();
  }
  if (threadIdx.x == 0) partial_sums[blockIdx.x] = block_sums[0];
}

__global__ void to_half_kernel(const float* __restrict__ source, int rows, int columns, int stride,
                               __half* __restrict__ destination) {
  grid_stride(cells(rows, columns), [&](long long k) {
    destination[k] = __float2half_rn(source[(k / columns) * stride + k % columns]);
  });
}

__global__ void from_half_kernel(const __half* __restrict__ source, long long count,
                                 float* __restrict__ destination) {
  grid_stride(count, [&](long long k) { destination[k] = __half2float(source[k]); });
}

__global__ void accumulate_from_half_kernel(const __half* __restrict__ source, long long count,
                                            float* __restrict__ destination) {
  grid_stride(count, [&](long long k) { destination[k] += __half2float(source[k]); });
}

}  // namespace

void gather_rows(const std::int32_t* ids, int rows, int width, const float* table, float* out,
                 cudaStream_t stream) {
  gather_rows_kernel<<<blocks_for(cells(rows, width)), kThreads, 0, stream>>>(ids, rows, width,
                                                                              table, out);
  CHECK_CUDA(cudaGetLastError());
}

void scatter_rows(const std::int32_t* ids, int rows, int width, const float* source, float* out,
                  cudaStream_t stream) {
  if (rows == 0) return;
  scatter_rows_kernel<<<blocks_for(cells(rows, width)), kThreads, 0, stream>>>(ids, rows, width,
                                                                               source, out);
  CHECK_CUDA(cudaGetLastError());
}

void gather_previous(const std::int32_t* previous, int rows, int width, const float* source,
                     float* out, cudaStream_t stream) {
  gather_previous_kernel<<<blocks_for(cells(rows, width)), kThreads, 0, stream>>>(
      previous, rows, width, source, out);
  CHECK_CUDA(cudaGetLastError());
}

void scatter_add_rows(int unique, const std::int32_t* tokens, const std::int32_t* starts,
                      const std::int32_t* rows, int width, const float* d_rows, float* table_grad,
                      cudaStream_t stream) {
  if (unique == 0) return;
  scatter_add_rows_kernel<<<blocks_for(cells(unique, width)), kThreads, 0, stream>>>(
      unique, tokens, starts, rows, width, d_rows, table_grad);
  CHECK_CUDA(cudaGetLastError());
}

void dropout(float* values, long long count, std::uint64_t seed, std::uint32_t stream_id,
             std::uint64_t step, float p, cudaStream_t stream) {
  dropout_kernel<<<blocks_for(count), kThreads, 0, stream>>>(values, count, seed, stream_id, step,
                                                             p);
  CHECK_CUDA(cudaGetLastError());
}

void add_row_vector(float* matrix, int rows, int columns, const float* vector,
                    cudaStream_t stream) {
  add_row_vector_kernel<<<blocks_for(cells(rows, columns)), kThreads, 0, stream>>>(matrix, rows,
                                                                                   columns, vector);
  CHECK_CUDA(cudaGetLastError());
}

void add_column_sums(const float* matrix, int rows, int columns, float* sums, cudaStream_t stream) {
  const int groups = std::clamp((columns + kSumColumns - 1) / kSumColumns, 1, 65535);
  add_column_sums_kernel<<<groups, dim3(kSumColumns, kSumRows), 0, stream>>>(matrix, rows, columns,
                                                                             sums);
  CHECK_CUDA(cudaGetLastError());
}

void accumulate(float* destination, const float* source, long long count, cudaStream_t stream) {
  accumulate_kernel<<<blocks_for(count), kThreads, 0, stream>>>(destination, source, count);
  CHECK_CUDA(cudaGetLastError());
}

void scale(float* values, long long count, float factor, cudaStream_t stream) {
  scale_kernel<<<blocks_for(count), kThreads, 0, stream>>>(values, count, factor);
  CHECK_CUDA(cudaGetLastError());
}

void readout_forward(int readout, int sequences, int hidden, int features, bool bidirectional,
                     const std::int32_t* lengths, const std::int32_t* step_offsets,
                     const float* top, float* out, std::int32_t* argmax_rows, cudaStream_t stream) {
  readout_forward_kernel<<<blocks_for(cells(sequences, features)), kThreads, 0, stream>>>(
      readout, sequences, hidden, features, bidirectional, lengths, step_offsets, top, out,
      argmax_rows);
  CHECK_CUDA(cudaGetLastError());
}

void readout_backward(int readout, int sequences, int hidden, int features, bool bidirectional,
                      const std::int32_t* lengths, const std::int32_t* step_offsets,
                      const float* d_features, const std::int32_t* argmax_rows, float* d_top,
                      cudaStream_t stream) {
  readout_backward_kernel<<<blocks_for(cells(sequences, features)), kThreads, 0, stream>>>(
      readout, sequences, hidden, features, bidirectional, lengths, step_offsets, d_features,
      argmax_rows, d_top);
  CHECK_CUDA(cudaGetLastError());
}

void activation_forward(int activation, const float* pre, float* out, long long count,
                        cudaStream_t stream) {
  activation_forward_kernel<<<blocks_for(count), kThreads, 0, stream>>>(activation, pre, out,
                                                                        count);
  CHECK_CUDA(cudaGetLastError());
}

void activation_backward(int activation, const float* pre, const float* out, float* grad,
                         long long count, cudaStream_t stream) {
  activation_backward_kernel<<<blocks_for(count), kThreads, 0, stream>>>(activation, pre, out, grad,
                                                                         count);
  CHECK_CUDA(cudaGetLastError());
}

void softmax_xent(const float* logits, int rows, int classes, const std::int32_t* labels,
                  const float* class_weights, float smoothing, float scale, float* losses,
                  std::int32_t* predictions, float* d_logits, cudaStream_t stream) {
  softmax_xent_kernel<<<blocks_for(rows), kThreads, 0, stream>>>(logits, rows, classes, labels,
                                                                 class_weights, smoothing, scale,
                                                                 losses, predictions, d_logits);
  CHECK_CUDA(cudaGetLastError());
}

void adam_update(float* values, const float* grads, float* first, float* second, long long count,
                 const math::AdamStep& step, cudaStream_t stream) {
  adam_kernel<<<blocks_for(count), kThreads, 0, stream>>>(values, grads, first, second, count,
                                                          step);
  CHECK_CUDA(cudaGetLastError());
}

void sgd_update(float* values, const float* grads, float* buffer, long long count,
                const math::SgdStep& step, cudaStream_t stream) {
  sgd_kernel<<<blocks_for(count), kThreads, 0, stream>>>(values, grads, buffer, count, step);
  CHECK_CUDA(cudaGetLastError());
}

void unscale_check_norm(float* grads, long long count, float inverse_scale, int* found_non_finite,
                        double* partial_sums, cudaStream_t stream) {
  unscale_check_norm_kernel<<<kNormBlocks, kThreads, 0, stream>>>(grads, count, inverse_scale,
                                                                  found_non_finite, partial_sums);
  CHECK_CUDA(cudaGetLastError());
}

void to_half(const float* source, int rows, int columns, int stride, std::uint16_t* destination,
             cudaStream_t stream) {
  to_half_kernel<<<blocks_for(cells(rows, columns)), kThreads, 0, stream>>>(
      source, rows, columns, stride, reinterpret_cast<__half*>(destination));
  CHECK_CUDA(cudaGetLastError());
}

void from_half(const std::uint16_t* source, long long count, float* destination,
               cudaStream_t stream) {
  from_half_kernel<<<blocks_for(count), kThreads, 0, stream>>>(
      reinterpret_cast<const __half*>(source), count, destination);
  CHECK_CUDA(cudaGetLastError());
}

void accumulate_from_half(const std::uint16_t* source, long long count, float* destination,
                          cudaStream_t stream) {
  accumulate_from_half_kernel<<<blocks_for(count), kThreads, 0, stream>>>(
      reinterpret_cast<const __half*>(source), count, destination);
  CHECK_CUDA(cudaGetLastError());
}

}  // namespace engine::cuda
