#include "engine/cuda_backend.h"

#include <cublas_v2.h>
#include <cuda_runtime.h>

#include <array>
#include <cstdio>
#include <vector>

#include "engine/caching_allocator.h"
#include "engine/cudnn_recurrent.h"
#include "kernels/cuda/check.h"
#include "kernels/cuda/model_kernels.h"
#include "kernels/cuda/rnn_pointwise.h"

namespace engine {

namespace {

cublasOperation_t to_cublas(Transpose t) {
  return t == Transpose::kYes ? CUBLAS_OP_T : CUBLAS_OP_N;
}

void* device_allocate(std::size_t bytes) {
  void* pointer = nullptr;
  CHECK_CUDA(cudaMalloc(&pointer, bytes));
  return pointer;
}

class CudaBackend final : public Backend {
 public:
  CudaBackend(int device, Precision precision)
      : device_(device),
        precision_(precision),
        allocator_(device_allocate, [](void* pointer) { cudaFree(pointer); }) {
    CHECK_CUDA(cudaSetDevice(device));
    CHECK_CUDA(cudaStreamCreateWithFlags(&stream_, cudaStreamNonBlocking));
    CHECK_CUBLAS(cublasCreate(&blas_));
    CHECK_CUBLAS(cublasSetStream(blas_, stream_));
    // Default math: fp32 GEMMs stay fp32, so the GPU reproduces the CPU within float rounding,
    // and fp16 operands run on tensor cores. tf32 lets fp32 GEMMs use TF32 tensor cores.
    CHECK_CUBLAS(cublasSetMathMode(
        blas_, precision == Precision::kTf32 ? CUBLAS_TF32_TENSOR_OP_MATH : CUBLAS_DEFAULT_MATH));
    for (cudaEvent_t& event : marks_) CHECK_CUDA(cudaEventCreate(&event));
    flag_ = static_cast<int*>(allocator_.allocate(sizeof(int)));
    partials_ = static_cast<double*>(allocator_.allocate(cuda::kNormBlocks * sizeof(double)));
  }
  ~CudaBackend() override {
    cudaStreamSynchronize(stream_);
    if (dnn_ != nullptr) cudnnDestroy(dnn_);
    for (cudaEvent_t event : marks_) cudaEventDestroy(event);
    cublasDestroy(blas_);
    allocator_.release(flag_);
    allocator_.release(partials_);
    allocator_.empty_cache();
    cudaStreamDestroy(stream_);
  }

  std::string name() const override { return "cuda:" + std::to_string(device_); }
  Precision precision() const override { return precision_; }
  std::string memory_summary() const override {
    std::size_t free = 0, total = 0;
    CHECK_CUDA(cudaMemGetInfo(&free, &total));
    const auto& s = allocator_.stats();
    const auto mib = [](std::size_t bytes) { return static_cast<double>(bytes) / 1048576.0; };
    char text[256];
    std::snprintf(text, sizeof text,
                  "GPU %d: %.1f MiB reserved by the caching allocator (%.1f MiB live, peak %.1f "
                  "MiB, %zu cudaMalloc calls, %zu reuses); %.0f of %.0f MiB free on the device",
                  device_, mib(s.reserved_bytes), mib(s.live_bytes), mib(s.peak_live_bytes),
                  s.raw_allocations, s.reuses, mib(free), mib(total));
    return text;
  }

  void* allocate(std::size_t bytes) override { return allocator_.allocate(bytes); }
  void release(void* pointer) override { allocator_.release(pointer); }
  void upload(void* destination, const void* source, std::size_t bytes) override {
    // From pageable memory the copy has read `source` when the call returns.
    if (bytes > 0)
      CHECK_CUDA(cudaMemcpyAsync(destination, source, bytes, cudaMemcpyHostToDevice, stream_));
  }
  void download(void* destination, const void* source, std::size_t bytes) override {
    if (bytes > 0)
      CHECK_CUDA(cudaMemcpyAsync(destination, source, bytes, cudaMemcpyDeviceToHost, stream_));
    synchronize();
  }
  void copy(void* destination, const void* source, std::size_t bytes) override {
    if (bytes > 0)
      CHECK_CUDA(cudaMemcpyAsync(destination, source, bytes, cudaMemcpyDeviceToDevice, stream_));
  }
  void zero(void* destination, std::size_t bytes) override {
    if (bytes > 0) CHECK_CUDA(cudaMemsetAsync(destination, 0, bytes, stream_));
  }
  void copy_rows(float* destination, int destination_stride, const float* source, int source_stride,
                 int rows, int width) override {
    if (rows == 0 || width == 0) return;
    CHECK_CUDA(cudaMemcpy2DAsync(
        destination, destination_stride * sizeof(float), source, source_stride * sizeof(float),
        width * sizeof(float), static_cast<std::size_t>(rows), cudaMemcpyDeviceToDevice, stream_));
  }
  void synchronize() override { CHECK_CUDA(cudaStreamSynchronize(stream_)); }
  void mark(int slot) override {
    CHECK_CUDA(cudaEventRecord(marks_.at(static_cast<std::size_t>(slot)), stream_));
  }
  double seconds_between(int first, int second) override {
    cudaEvent_t end = marks_.at(static_cast<std::size_t>(second));
    CHECK_CUDA(cudaEventSynchronize(end));
    float ms = 0;
    CHECK_CUDA(cudaEventElapsedTime(&ms, marks_.at(static_cast<std::size_t>(first)), end));
    return ms / 1000.0;
  }
  void* native_stream() const override { return stream_; }

  // Row-major C = op(A) op(B) is column-major C^T = op(B)^T op(A)^T: cuBLAS gets B first.
  void gemm(Transpose trans_a, Transpose trans_b, int m, int n, int k, float alpha, const float* a,
            int lda, const float* b, int ldb, float beta, float* c, int ldc) override {
    if (m == 0 || n == 0) return;
    if (precision_ != Precision::kFp16) {  // fp32 data: strict, or TF32 by the handle's math mode
      CHECK_CUBLAS(cublasSgemm(blas_, to_cublas(trans_b), to_cublas(trans_a), n, m, k, &alpha, b,
                               ldb, a, lda, &beta, c, ldc));
      return;
    }
    const int a_rows = trans_a == Transpose::kNo ? m : k;
    const int a_cols = trans_a == Transpose::kNo ? k : m;
    const int b_rows = trans_b == Transpose::kNo ? k : n;
    const int b_cols = trans_b == Transpose::kNo ? n : k;
    std::uint16_t* half_a = half_scratch(half_a_, static_cast<std::size_t>(a_rows) * a_cols);
    std::uint16_t* half_b = half_scratch(half_b_, static_cast<std::size_t>(b_rows) * b_cols);
    cuda::to_half(a, a_rows, a_cols, lda, half_a, stream_);
    cuda::to_half(b, b_rows, b_cols, ldb, half_b, stream_);
    CHECK_CUBLAS(cublasGemmEx(blas_, to_cublas(trans_b), to_cublas(trans_a), n, m, k, &alpha,
                              half_b, CUDA_R_16F, b_cols, half_a, CUDA_R_16F, a_cols, &beta, c,
                              CUDA_R_32F, ldc, CUBLAS_COMPUTE_32F, CUBLAS_GEMM_DEFAULT));
  }
  void add_row_vector(float* matrix, int rows, int columns, const float* vector) override {
    cuda::add_row_vector(matrix, rows, columns, vector, stream_);
  }
  void add_column_sums(const float* matrix, int rows, int columns, float* sums) override {
    cuda::add_column_sums(matrix, rows, columns, sums, stream_);
  }
  void accumulate(float* destination, const float* source, std::size_t count) override {
    cuda::accumulate(destination, source, static_cast<long long>(count), stream_);
  }
  void scale(float* values, std::size_t count, float factor) override {
    cuda::scale(values, static_cast<long long>(count), factor, stream_);
  }

  void gather_rows(const std::int32_t* ids, int rows, int width, const float* table,
                   float* out) override {
    cuda::gather_rows(ids, rows, width, table, out, stream_);
  }
  void scatter_rows(const std::int32_t* ids, int rows, int width, const float* source,
                    float* out) override {
    cuda::scatter_rows(ids, rows, width, source, out, stream_);
  }
  void gather_previous(const std::int32_t* previous, int rows, int width, const float* source,
                       float* out) override {
    cuda::gather_previous(previous, rows, width, source, out, stream_);
  }
  void scatter_add_rows(const ScatterPlan& plan, int width, const float* d_rows,
                        float* table_grad) override {
    cuda::scatter_add_rows(plan.unique, plan.tokens, plan.starts, plan.rows, width, d_rows,
                           table_grad, stream_);
  }
  void dropout(float* values, std::size_t count, const DropoutDraw& draw) override {
    cuda::dropout(values, static_cast<long long>(count), draw.seed, draw.stream, draw.step, draw.p,
                  stream_);
  }
  void cell_forward(CellType cell, const CellStep& step, const float* projection,
                    const float* recurrent, const float* bias, const float* h_prev,
                    const float* c_prev, float* keep, float* c, float* h) override {
    switch (cell) {
      case CellType::kLstm:
        cuda::lstm_forward_step(step.rows, step.with_state, step.hidden, projection, recurrent,
                                bias, c_prev, keep, c, h, stream_);
        break;
      case CellType::kGru:
        cuda::gru_forward_step(step.rows, step.with_state, step.hidden, projection, recurrent, bias,
                               h_prev, keep, h, stream_);
        break;
      case CellType::kRnn:
        cuda::rnn_forward_step(step.rows, step.with_state, step.hidden, projection, recurrent, bias,
                               h, stream_);
        break;
    }
  }
  void cell_backward(CellType cell, const CellStep& step, const float* keep, const float* c,
                     const float* c_prev, const float* h, const float* h_prev, const float* dh,
                     float* dh_carry, float* dc_carry, float* d_projection,
                     float* d_recurrent) override {
    switch (cell) {
      case CellType::kLstm:
        cuda::lstm_backward_step(step.rows, step.with_state, step.hidden, keep, c, c_prev, dh,
                                 dh_carry, dc_carry, d_projection, stream_);
        break;
      case CellType::kGru:
        cuda::gru_backward_step(step.rows, step.with_state, step.hidden, keep, h_prev, dh, dh_carry,
                                d_projection, d_recurrent, stream_);
        break;
      case CellType::kRnn:
        cuda::rnn_backward_step(step.rows, step.hidden, h, dh, dh_carry, d_projection, stream_);
        break;
    }
  }
  void readout_forward(Readout readout, const ReadoutShape& shape, const float* top,
                       float* features, std::int32_t* argmax_rows) override {
    cuda::readout_forward(static_cast<int>(readout), shape.sequences, shape.hidden, shape.features,
                          shape.bidirectional, shape.lengths, shape.step_offsets, top, features,
                          argmax_rows, stream_);
  }
  void readout_backward(Readout readout, const ReadoutShape& shape, const float* d_features,
                        const std::int32_t* argmax_rows, float* d_top) override {
    cuda::readout_backward(static_cast<int>(readout), shape.sequences, shape.hidden, shape.features,
                           shape.bidirectional, shape.lengths, shape.step_offsets, d_features,
                           argmax_rows, d_top, stream_);
  }
  void activation_forward(Activation activation, const float* pre, float* out,
                          std::size_t count) override {
    cuda::activation_forward(static_cast<int>(activation), pre, out, static_cast<long long>(count),
                             stream_);
  }
  void activation_backward(Activation activation, const float* pre, const float* out, float* grad,
                           std::size_t count) override {
    cuda::activation_backward(static_cast<int>(activation), pre, out, grad,
                              static_cast<long long>(count), stream_);
  }
  void softmax_xent(const float* logits, int rows, int classes, const std::int32_t* labels,
                    const float* class_weights, float smoothing, float scale, float* losses,
                    std::int32_t* predictions, float* d_logits) override {
    cuda::softmax_xent(logits, rows, classes, labels, class_weights, smoothing, scale, losses,
                       predictions, d_logits, stream_);
  }

  std::unique_ptr<FusedRecurrentLayer> make_fused_recurrent(CellType cell, int input, int hidden,
                                                            bool bidirectional) override {
    if (dnn_ == nullptr) {
      CHECK_CUDNN(cudnnCreate(&dnn_));
      CHECK_CUDNN(cudnnSetStream(dnn_, stream_));
    }
    return make_cudnn_recurrent(dnn_, stream_, *this, precision_, cell, input, hidden,
                                bidirectional);
  }

  void adam_update(float* values, const float* grads, float* first, float* second,
                   std::size_t count, const math::AdamStep& step) override {
    cuda::adam_update(values, grads, first, second, static_cast<long long>(count), step, stream_);
  }
  void sgd_update(float* values, const float* grads, float* buffer, std::size_t count,
                  const math::SgdStep& step) override {
    cuda::sgd_update(values, grads, buffer, static_cast<long long>(count), step, stream_);
  }
  GradCheck unscale_check_norm(float* grads, std::size_t count, float inverse_scale) override {
    CHECK_CUDA(cudaMemsetAsync(flag_, 0, sizeof(int), stream_));
    cuda::unscale_check_norm(grads, static_cast<long long>(count), inverse_scale, flag_, partials_,
                             stream_);
    int found = 0;
    std::vector<double> partials(cuda::kNormBlocks);
    download(&found, flag_, sizeof found);
    download(partials.data(), partials_, partials.size() * sizeof(double));
    GradCheck check;
    check.non_finite = found != 0;
    for (const double p : partials) check.sum_squares += p;  // block order: deterministic
    return check;
  }

 private:
  struct HalfScratch {
    std::uint16_t* data = nullptr;
    std::size_t capacity = 0;
  };
  std::uint16_t* half_scratch(HalfScratch& scratch, std::size_t count) {
    if (count > scratch.capacity) {
      // The previous GEMM may still read it: the caching allocator hands memory out again only
      // to work queued later on this same stream, so releasing here is safe.
      if (scratch.data != nullptr) allocator_.release(scratch.data);
      scratch.data = static_cast<std::uint16_t*>(allocator_.allocate(count * 2));
      scratch.capacity = count;
    }
    return scratch.data;
  }

  int device_;
  Precision precision_;
  CachingAllocator allocator_;
  cudaStream_t stream_ = nullptr;
  cublasHandle_t blas_ = nullptr;
  cudnnHandle_t dnn_ = nullptr;  // made on the first cuDNN layer
  std::array<cudaEvent_t, 4> marks_{};
  int* flag_ = nullptr;
  double* partials_ = nullptr;
  HalfScratch half_a_, half_b_;
};

}  // namespace

std::unique_ptr<Backend> make_cuda_backend(int device, Precision precision) {
  return std::make_unique<CudaBackend>(device, precision);
}

}  // namespace engine
