// The classifier: embedding -> recurrent stack (layers x directions, dropout on the embedding
// output and between layers) -> readout (last | mean | max over each sequence's valid steps)
// -> optional hidden dense layer -> dense to K classes -> softmax cross-entropy.
//
// Batches run packed (layers/packed_sequence.h): padding never enters a computation, so a
// result never depends on how much padding a batch carries. train_step ACCUMULATES the gradient
// of the SUM of the batch's losses into the parameter arena; the trainer divides by the number
// of examples once per optimizer step (so k accumulated micro-batches equal one batch k times
// larger, and data-parallel ranks average in one place).
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <vector>

#include "engine/model_config.h"
#include "engine/parameters.h"
#include "io/loader.h"
#include "layers/packed_sequence.h"
#include "layers/recurrent_layer.h"

namespace engine {

struct StepResult {
  double loss_sum = 0;  // sum over the batch of each example's (class-weighted) loss
  std::int64_t rows = 0;
  std::int64_t correct = 0;
  std::vector<std::int32_t> predictions;             // batch order
  double forward_seconds = 0, backward_seconds = 0;  // train_step's wall time in each pass
};

class Model {
 public:
  explicit Model(ModelConfig config);
  const ModelConfig& config() const { return config_; }
  ParameterArena& parameters() { return params_; }
  const ParameterArena& parameters() const { return params_; }

  // Fresh weights from `seed`, with PyTorch's default distributions: embedding N(0, 1) with
  // the <pad> row at zero, recurrent weights and biases U(-1/sqrt(H), 1/sqrt(H)), dense layers
  // U(-1/sqrt(fan_in), 1/sqrt(fan_in)).
  void initialize(std::uint64_t seed);

  StepResult evaluate(const io::Batch& batch);
  // dropout_seed and dropout_step pick the dropout masks (give each micro-batch its own step).
  StepResult train_step(const io::Batch& batch, std::uint64_t dropout_seed,
                        std::uint64_t dropout_step);
  // Called during backward with the arena offset from which the gradients are final, top of the
  // model first (the classifier, each recurrent layer, the embedding last: offset 0), so the
  // gradient allreduce can start while backward goes on. Empty: not called.
  void set_grads_ready(std::function<void(std::size_t offset)> callback) {
    grads_ready_ = std::move(callback);
  }

  // Logits of the last forward pass, [rows x classes] in batch order.
  std::vector<float> logits() const;
  // Top-layer outputs of the last forward pass, [rows x max_len x features] in batch order,
  // zero past each sequence's length (what PyTorch's pad_packed_sequence returns).
  std::vector<float> top_outputs(std::size_t max_len) const;
  // Every layer's and direction's final state, [layers * directions x rows x hidden] (h_n).
  std::vector<float> final_states() const;

 private:
  struct RecurrentSlot {
    RecurrentLayer layer;
    std::size_t w_ih, w_hh, b_ih, b_hh;  // parameter indices
  };

  StepResult forward(const io::Batch& batch, bool training);
  void backward(const io::Batch& batch);
  bool dropout_active() const;
  // What layer l reads: the embedded tokens, the dropped-out copy, or the layer below's outputs.
  const float* layer_input(int layer) const;
  // The last layer's outputs, which the readout reads: [rows x F].
  const float* top() const { return outputs_.back().data(); }
  void apply_dropout(std::vector<float>& values, std::uint32_t stream) const;
  void readout_forward();
  void readout_backward(const std::vector<float>& d_features, std::vector<float>& d_top) const;
  // out = in W^T + b for a dense layer (W: [out_width x in_width]); the backward accumulates
  // dW and db and overwrites d_in.
  void dense_forward(const float* in, int rows, int in_width, std::size_t weight, std::size_t bias,
                     int out_width, std::vector<float>& out) const;
  void dense_backward(const float* d_out, int rows, int out_width, const float* in, int in_width,
                      std::size_t weight, std::size_t bias, float* d_in);
  RecurrentParams params_of(const RecurrentSlot& slot) const;
  RecurrentGrads grads_of(const RecurrentSlot& slot);

  ModelConfig config_;
  ParameterArena params_;
  std::size_t embedding_ = 0, hidden_w_ = 0, hidden_b_ = 0, output_w_ = 0, output_b_ = 0;
  std::vector<RecurrentSlot> recurrent_;  // layer-major: [layer * directions + direction]

  // Forward state, kept for backward.
  bool training_ = false;
  std::uint64_t dropout_seed_ = 0;
  std::uint64_t dropout_step_ = 0;
  PackedLayout layout_;
  // Per layer: its input after dropout (the embedding's always; a layer above only while dropout
  // is on, otherwise it reads the layer below's outputs), and its outputs, the directions side by
  // side [rows x F]; the last layer's feed the readout.
  std::vector<std::vector<float>> inputs_;
  std::vector<std::vector<float>> outputs_;
  std::vector<float> features_;                 // [sequences x F], sorted order
  std::vector<int> argmax_rows_;                // max readout: the row each feature came from
  std::vector<float> hidden_pre_, hidden_act_;  // [sequences x D]
  std::vector<float> logits_;                   // [sequences x K], sorted order
  std::vector<std::int32_t> sorted_labels_;
  std::function<void(std::size_t)> grads_ready_;
};

}  // namespace engine
