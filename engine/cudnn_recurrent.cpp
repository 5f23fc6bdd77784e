#include "engine/cudnn_recurrent.h"

#include <cstdint>
#include <stdexcept>
#include <vector>

#include "engine/cudnn_weight_plan.h"
#include "engine/device_buffer.h"
#include "kernels/cuda/check.h"
#include "kernels/cuda/model_kernels.h"

namespace engine {

namespace {

class CudnnRecurrentLayer final : public FusedRecurrentLayer {
 public:
  CudnnRecurrentLayer(cudnnHandle_t handle, cudaStream_t stream, Backend& memory,
                      Precision precision, CellType cell, int input, int hidden, bool bidirectional)
      : handle_(handle),
        stream_(stream),
        memory_(memory),
        half_(precision == Precision::kFp16),
        tf32_(precision == Precision::kTf32),
        input_(input),
        hidden_(hidden),
        directions_(bidirectional ? 2 : 1),
        weights_(memory),
        weight_grads_(memory),
        workspace_(memory),
        reserve_(memory),
        x_half_(memory),
        y_half_(memory),
        dy_half_(memory),
        dx_half_(memory) {
    CHECK_CUDNN(cudnnCreateRNNDescriptor(&rnn_));
    CHECK_CUDNN(cudnnCreateDropoutDescriptor(&dropout_));
    CHECK_CUDNN(cudnnCreateRNNDataDescriptor(&x_desc_));
    CHECK_CUDNN(cudnnCreateRNNDataDescriptor(&y_desc_));
    CHECK_CUDNN(cudnnCreateTensorDescriptor(&h_desc_));
    // No dropout inside cuDNN: one layer per descriptor, DeviceModel applies its own between.
    CHECK_CUDNN(cudnnSetDropoutDescriptor(dropout_, handle_, 0.0f, nullptr, 0, 0));
    CHECK_CUDNN(cudnnSetRNNDescriptor_v8(
        rnn_, CUDNN_RNN_ALGO_STANDARD, mode(cell), CUDNN_RNN_DOUBLE_BIAS,
        bidirectional ? CUDNN_BIDIRECTIONAL : CUDNN_UNIDIRECTIONAL, CUDNN_LINEAR_INPUT, data_type(),
        CUDNN_DATA_FLOAT, math_type(), input, hidden, hidden, 1, dropout_,
        CUDNN_RNN_PADDED_IO_DISABLED));  // packed layout: no padding to describe
    CHECK_CUDNN(cudnnGetRNNWeightSpaceSize(handle_, rnn_, &weight_bytes_));
    weights_.ensure(weight_bytes_);
    weight_grads_.ensure(weight_bytes_);
    plan_ = cudnn_weight_plan(cell, input, hidden, directions_, [this](int pseudo_layer, int lin) {
      return locate(pseudo_layer, lin);
    });
    validate_plan(plan_, weight_bytes_ / element_size());
  }

  ~CudnnRecurrentLayer() override {
    cudnnDestroyTensorDescriptor(h_desc_);
    cudnnDestroyRNNDataDescriptor(y_desc_);
    cudnnDestroyRNNDataDescriptor(x_desc_);
    cudnnDestroyDropoutDescriptor(dropout_);
    cudnnDestroyRNNDescriptor(rnn_);
  }

  void forward(const PackedBatch& batch, const float* x, const DirectionWeights* weights, float* y,
               bool training) override {
    describe(batch, training);
    pack(weights);
    const void* x_data = x;
    void* y_data = y;
    const auto y_count = rows(batch) * directions_ * hidden_;
    if (half_) {
      cuda::to_half(x, batch.rows, input_, input_, x_half_.ensure(rows(batch) * input_), stream_);
      x_data = x_half_.data();
      y_data = y_half_.ensure(y_count);
    }
    CHECK_CUDNN(cudnnRNNForward(
        handle_, rnn_, training ? CUDNN_FWD_MODE_TRAINING : CUDNN_FWD_MODE_INFERENCE, batch.lengths,
        x_desc_, x_data, y_desc_, y_data, h_desc_, nullptr, nullptr, h_desc_, nullptr, nullptr,
        weight_bytes_, weights_.data(), workspace_bytes_, workspace_.data(),
        training ? reserve_bytes_ : 0, training ? reserve_.data() : nullptr));
    if (half_) cuda::from_half(y_half_.data(), static_cast<long long>(y_count), y, stream_);
  }

  void backward(const PackedBatch& batch, const float* x, const float* y, const float* dy,
                const DirectionWeights* /*weights: packed by forward*/, const DirectionGrads* grads,
                float* dx) override {
    const void* x_data = x;
    const void* y_data = y;
    const void* dy_data = dy;
    void* dx_data = dx;
    const auto y_count = rows(batch) * directions_ * hidden_;
    if (half_) {  // x and y in half are still there from forward
      cuda::to_half(dy, batch.rows, directions_ * hidden_, directions_ * hidden_,
                    dy_half_.ensure(y_count), stream_);
      x_data = x_half_.data();
      y_data = y_half_.data();
      dy_data = dy_half_.data();
      dx_data = dx_half_.ensure(rows(batch) * input_);
    }
    CHECK_CUDNN(cudnnRNNBackwardData_v8(
        handle_, rnn_, batch.lengths, y_desc_, y_data, dy_data, x_desc_, dx_data, h_desc_, nullptr,
        nullptr, nullptr, h_desc_, nullptr, nullptr, nullptr, weight_bytes_, weights_.data(),
        workspace_bytes_, workspace_.data(), reserve_bytes_, reserve_.data()));
    memory_.zero(weight_grads_.data(), weight_bytes_);
    CHECK_CUDNN(cudnnRNNBackwardWeights_v8(handle_, rnn_, CUDNN_WGRAD_MODE_ADD, batch.lengths,
                                           x_desc_, x_data, h_desc_, nullptr, y_desc_, y_data,
                                           weight_bytes_, weight_grads_.data(), workspace_bytes_,
                                           workspace_.data(), reserve_bytes_, reserve_.data()));
    unpack_add(grads);
    if (half_) {
      cuda::from_half(dx_half_.data(), static_cast<long long>(rows(batch) * input_), dx, stream_);
    }
  }

 private:
  static cudnnRNNMode_t mode(CellType cell) {
    switch (cell) {
      case CellType::kLstm:
        return CUDNN_LSTM;
      case CellType::kGru:
        return CUDNN_GRU;
      case CellType::kRnn:
        return CUDNN_RNN_TANH;
    }
    throw std::invalid_argument("cuDNN: unknown cell");
  }
  // Half on tensor cores; fp32 strictly (FMA), or with the TF32 tensor cores cuDNN's default
  // math permits on Ampere and newer (what PyTorch asks for fp32 unless TF32 is turned off).
  cudnnMathType_t math_type() const {
    return half_ ? CUDNN_TENSOR_OP_MATH : tf32_ ? CUDNN_DEFAULT_MATH : CUDNN_FMA_MATH;
  }
  cudnnDataType_t data_type() const { return half_ ? CUDNN_DATA_HALF : CUDNN_DATA_FLOAT; }
  std::size_t element_size() const { return half_ ? 2 : 4; }
  static std::size_t rows(const PackedBatch& batch) { return static_cast<std::size_t>(batch.rows); }

  // Element offsets and sizes of one linear layer's matrix and bias, as cuDNN reports them.
  CudnnParamLocation locate(int pseudo_layer, int lin) {
    cudnnTensorDescriptor_t m_desc = nullptr, b_desc = nullptr;
    CHECK_CUDNN(cudnnCreateTensorDescriptor(&m_desc));
    CHECK_CUDNN(cudnnCreateTensorDescriptor(&b_desc));
    void* m_addr = nullptr;
    void* b_addr = nullptr;
    CHECK_CUDNN(cudnnGetRNNWeightParams(handle_, rnn_, pseudo_layer, weight_bytes_, weights_.data(),
                                        lin, m_desc, &m_addr, b_desc, &b_addr));
    const auto elements = [](cudnnTensorDescriptor_t desc) {
      cudnnDataType_t type;
      int dims[8] = {}, strides[8] = {}, rank = 0;
      CHECK_CUDNN(cudnnGetTensorNdDescriptor(desc, 8, &type, &rank, dims, strides));
      std::size_t count = 1;
      for (int i = 0; i < rank; ++i) count *= static_cast<std::size_t>(dims[i]);
      return count;
    };
    const auto base = reinterpret_cast<std::uintptr_t>(weights_.data());
    CudnnParamLocation where;
    where.matrix_offset = (reinterpret_cast<std::uintptr_t>(m_addr) - base) / element_size();
    where.matrix_count = elements(m_desc);
    where.bias_offset = (reinterpret_cast<std::uintptr_t>(b_addr) - base) / element_size();
    where.bias_count = elements(b_desc);
    cudnnDestroyTensorDescriptor(b_desc);
    cudnnDestroyTensorDescriptor(m_desc);
    return where;
  }

  // The batch's data descriptors (packed layout, its lengths) and temporary space.
  void describe(const PackedBatch& batch, bool training) {
    lengths_.assign(batch.host_lengths, batch.host_lengths + batch.sequences);
    CHECK_CUDNN(cudnnSetRNNDataDescriptor(x_desc_, data_type(),
                                          CUDNN_RNN_DATA_LAYOUT_SEQ_MAJOR_PACKED, batch.steps,
                                          batch.sequences, input_, lengths_.data(), nullptr));
    CHECK_CUDNN(cudnnSetRNNDataDescriptor(
        y_desc_, data_type(), CUDNN_RNN_DATA_LAYOUT_SEQ_MAJOR_PACKED, batch.steps, batch.sequences,
        directions_ * hidden_, lengths_.data(), nullptr));
    const int dims[3] = {directions_, batch.sequences, hidden_};
    const int strides[3] = {batch.sequences * hidden_, hidden_, 1};
    CHECK_CUDNN(cudnnSetTensorNdDescriptor(h_desc_, data_type(), 3, dims, strides));
    std::size_t reserve_bytes = 0;
    CHECK_CUDNN(cudnnGetRNNTempSpaceSizes(
        handle_, rnn_, training ? CUDNN_FWD_MODE_TRAINING : CUDNN_FWD_MODE_INFERENCE, x_desc_,
        &workspace_bytes_, &reserve_bytes));
    workspace_.ensure(workspace_bytes_);
    if (training) {  // what backward needs from this forward
      reserve_bytes_ = reserve_bytes;
      reserve_.ensure(reserve_bytes_);
    }
  }

  static const float* source(const DirectionWeights& w, RecurrentTensor tensor) {
    switch (tensor) {
      case RecurrentTensor::kWeightIh:
        return w.w_ih;
      case RecurrentTensor::kWeightHh:
        return w.w_hh;
      case RecurrentTensor::kBiasIh:
        return w.b_ih;
      case RecurrentTensor::kBiasHh:
        return w.b_hh;
    }
    return nullptr;
  }
  static float* target(const DirectionGrads& g, RecurrentTensor tensor) {
    switch (tensor) {
      case RecurrentTensor::kWeightIh:
        return g.w_ih;
      case RecurrentTensor::kWeightHh:
        return g.w_hh;
      case RecurrentTensor::kBiasIh:
        return g.b_ih;
      case RecurrentTensor::kBiasHh:
        return g.b_hh;
    }
    return nullptr;
  }

  // Our fp32 parameters into cuDNN's weight space (rounded to half for fp16).
  void pack(const DirectionWeights* weights) {
    for (const WeightCopy& c : plan_) {
      const float* from = source(weights[c.direction], c.tensor) + c.our_offset;
      if (half_) {
        cuda::to_half(from, 1, static_cast<int>(c.count), static_cast<int>(c.count),
                      reinterpret_cast<std::uint16_t*>(weights_.data()) + c.cudnn_offset, stream_);
      } else {
        memory_.copy(reinterpret_cast<float*>(weights_.data()) + c.cudnn_offset, from,
                     c.count * sizeof(float));
      }
    }
  }

  // cuDNN's weight gradients added to our gradient arena.
  void unpack_add(const DirectionGrads* grads) {
    for (const WeightCopy& c : plan_) {
      float* to = target(grads[c.direction], c.tensor) + c.our_offset;
      const auto count = static_cast<long long>(c.count);
      if (half_) {
        cuda::accumulate_from_half(
            reinterpret_cast<const std::uint16_t*>(weight_grads_.data()) + c.cudnn_offset, count,
            to, stream_);
      } else {
        cuda::accumulate(to, reinterpret_cast<const float*>(weight_grads_.data()) + c.cudnn_offset,
                         count, stream_);
      }
    }
  }

  cudnnHandle_t handle_;
  cudaStream_t stream_;
  Backend& memory_;
  bool half_;
  bool tf32_;  // fp32 data on TF32 tensor cores (fp32 alone is FMA math: strict)
  int input_, hidden_, directions_;
  cudnnRNNDescriptor_t rnn_ = nullptr;
  cudnnDropoutDescriptor_t dropout_ = nullptr;
  cudnnRNNDataDescriptor_t x_desc_ = nullptr, y_desc_ = nullptr;
  cudnnTensorDescriptor_t h_desc_ = nullptr;
  std::size_t weight_bytes_ = 0, workspace_bytes_ = 0, reserve_bytes_ = 0;
  std::vector<WeightCopy> plan_;
  std::vector<int> lengths_;
  DeviceBuffer<unsigned char> weights_, weight_grads_, workspace_, reserve_;
  DeviceBuffer<std::uint16_t> x_half_, y_half_, dy_half_, dx_half_;
};

}  // namespace

std::unique_ptr<FusedRecurrentLayer> make_cudnn_recurrent(cudnnHandle_t handle, cudaStream_t stream,
                                                          Backend& memory, Precision precision,
                                                          CellType cell, int input, int hidden,
                                                          bool bidirectional) {
  return std::make_unique<CudnnRecurrentLayer>(handle, stream, memory, precision, cell, input,
                                               hidden, bidirectional);
}

}  // namespace engine
