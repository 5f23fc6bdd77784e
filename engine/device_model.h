// The classifier of engine/model.h on any Backend (engine/backend.h): the same parameters (names,
// shapes and arena offsets, taken from a host Model that also serves initialisation and
// checkpoints), the same packed steps, the same math and the same dropout masks, with every
// buffer in the backend's memory. On the CPU backend it reproduces Model (tested); on the CUDA
// backend it is the GPU training path (--device cuda --rnn-impl custom).
//
// As Model, train_step ACCUMULATES the gradient of the SUM of the batch's losses (times the
// loss scale) into the gradient arena. The per-batch index arrays (packed token ids, lengths,
// step offsets, labels, the embedding's scatter plan) are built on the host and uploaded at once.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <vector>

#include "engine/backend.h"
#include "engine/device_buffer.h"
#include "engine/model.h"
#include "io/loader.h"
#include "layers/packed_sequence.h"

namespace engine {

class DeviceModel {
 public:
  // fused_recurrent: run each recurrent layer through the backend's vendor library (cuDNN;
  // --rnn-impl cudnn) instead of our own per-step kernels. Throws when the backend has none.
  DeviceModel(const ModelConfig& config, Backend& backend, bool fused_recurrent = false);

  const ModelConfig& config() const { return host_.config(); }
  Backend& backend() { return backend_; }
  std::size_t size() const { return host_.parameters().size(); }
  // The host mirror: its arena is what checkpoints save and load.
  Model& host() { return host_; }

  void initialize(std::uint64_t seed);  // the host Model's initialisation, uploaded
  void upload_parameters();             // host arena -> backend
  void download_parameters();           // backend -> host arena
  std::vector<float> download_grads();

  float* values() { return values_.data(); }
  float* grads() { return grads_.data(); }
  void zero_grads();
  // Multiplies the loss gradient (dynamic loss scaling); 1 unless mixed precision sets it.
  void set_loss_scale(float scale) { loss_scale_ = scale; }

  StepResult train_step(const io::Batch& batch, std::uint64_t dropout_seed,
                        std::uint64_t dropout_step);
  StepResult evaluate(const io::Batch& batch);

  // As Model::set_grads_ready: during backward, the arena offset from which the gradients are
  // final (classifier, each recurrent layer, embedding: 0), once the work producing them is
  // queued, so a communicator can start reducing them behind it. Empty: not called.
  void set_grads_ready(std::function<void(std::size_t offset)> callback) {
    grads_ready_ = std::move(callback);
  }

  // Logits of the last forward pass, [rows x classes] in batch order (tests).
  std::vector<float> logits();

 private:
  struct Recurrent {
    std::size_t w_ih, w_hh, b_ih, b_hh;  // arena offsets
  };
  struct LayerState {  // per layer and direction, kept from forward for backward
    DeviceBuffer<float> outputs, keep, cells;
  };

  // Queues the forward pass (batch.rows > 0); collect() waits for it and reads the losses and
  // predictions back.
  void forward(const io::Batch& batch, bool training);
  StepResult collect(const io::Batch& batch);
  void backward();
  void stage_indices(const io::Batch& batch, bool training);
  void recurrent_forward(int layer, int direction, const float* x, int input_width);
  void recurrent_backward(int layer, int direction, const float* x, int input_width,
                          const float* dh, float* dx);
  void dense_forward(const float* in, int rows, int in_width, std::size_t weight, std::size_t bias,
                     int out_width, float* out);
  void dense_backward(const float* d_out, int rows, int out_width, const float* in, int in_width,
                      std::size_t weight, std::size_t bias, float* d_in);
  void maybe_dropout(float* values, std::size_t count, std::uint32_t stream);
  PackedBatch packed_batch() const;
  std::vector<DirectionWeights> weights_of(int layer) const;
  std::vector<DirectionGrads> grads_of(int layer);
  ReadoutShape readout_shape() const;
  int rows_with_state(bool reverse, int t) const;
  const float* value(std::size_t offset) const { return values_.data() + offset; }
  float* grad(std::size_t offset) { return grads_.data() + offset; }

  Backend& backend_;
  Model host_;
  std::size_t embedding_ = 0, hidden_w_ = 0, hidden_b_ = 0, output_w_ = 0, output_b_ = 0;
  std::vector<Recurrent> recurrent_;  // [layer * directions + direction]
  DeviceBuffer<float> values_, grads_, class_weights_;
  float loss_scale_ = 1.0f;
  std::function<void(std::size_t)> grads_ready_;

  // The batch: host layout and its uploaded index arrays.
  PackedLayout layout_;
  bool training_ = false;
  std::uint64_t dropout_seed_ = 0, dropout_step_ = 0;
  std::vector<std::int32_t> staging_;
  std::vector<std::int32_t> token_slots_;  // stage_indices' counting sort, kept to reuse
  DeviceBuffer<std::int32_t> indices_;
  const std::int32_t *ids_ = nullptr, *lengths_ = nullptr, *step_offsets_ = nullptr,
                     *labels_ = nullptr;
  ScatterPlan scatter_;
  const std::int32_t* previous_rows_[2] = {nullptr, nullptr};  // forward, reverse (training)

  // Activations kept for backward.
  std::vector<DeviceBuffer<float>> inputs_;  // per layer, after dropout
  std::vector<LayerState> layers_;  // fused: the layer's joined output in its first direction's
  std::vector<std::unique_ptr<FusedRecurrentLayer>> fused_;  // per layer, or empty
  DeviceBuffer<float> top_, features_, hidden_pre_, hidden_act_, logits_, losses_, d_logits_;
  DeviceBuffer<std::int32_t> argmax_rows_, predictions_;
  // Scratch.
  DeviceBuffer<float> projection_, recurrent_product_, d_recurrent_, h_carry_, c_carry_,
      h_previous_, d_h_, d_direction_, d_joined_, d_input_, d_features_, d_hidden_;
};

}  // namespace engine
