#include "engine/model.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <stdexcept>

#include "kernels/cpu/gemm.h"
#include "kernels/math/dropout.h"
#include "kernels/math/philox.h"
#include "kernels/math/softmax_xent.h"

namespace engine {

using cpu::Trans;

namespace {

std::size_t at(std::size_t row, std::size_t width) {
  return row * width;
}

// Philox streams: dropout uses 0 (embedding) and 1 + layer; initialisation 1000 + parameter.
constexpr std::uint32_t kInitStream = 1000;

}  // namespace

Model::Model(ModelConfig config) : config_(std::move(config)) {
  config_.validate();
  const int H = config_.hidden;
  const int G = gate_count(config_.cell);
  embedding_ = params_.add("embedding.weight", {config_.vocab_size, config_.embed});
  for (int l = 0; l < config_.layers; ++l) {
    const int in = l == 0 ? config_.embed : config_.feature_size();
    for (int d = 0; d < config_.directions(); ++d) {
      const std::string suffix = "_l" + std::to_string(l) + (d == 1 ? "_reverse" : "");
      RecurrentSlot slot{RecurrentLayer(config_.cell, in, H, d == 1), 0, 0, 0, 0};
      slot.w_ih = params_.add("rnn.weight_ih" + suffix, {G * H, in});
      slot.w_hh = params_.add("rnn.weight_hh" + suffix, {G * H, H});
      slot.b_ih = params_.add("rnn.bias_ih" + suffix, {G * H});
      slot.b_hh = params_.add("rnn.bias_hh" + suffix, {G * H});
      recurrent_.push_back(std::move(slot));
    }
  }
  int classifier_in = config_.feature_size();
  if (config_.dense_hidden > 0) {
    hidden_w_ = params_.add("hidden.weight", {config_.dense_hidden, config_.feature_size()});
    hidden_b_ = params_.add("hidden.bias", {config_.dense_hidden});
    classifier_in = config_.dense_hidden;
  }
  output_w_ = params_.add("output.weight", {config_.classes, classifier_in});
  output_b_ = params_.add("output.bias", {config_.classes});
}

void Model::initialize(std::uint64_t seed) {
  for (std::size_t p = 0; p < params_.slices().size(); ++p) {
    const ParameterSlice& slice = params_.slice(p);
    float* values = params_.value(p);
    const auto stream = kInitStream + static_cast<std::uint32_t>(p);
    if (p == embedding_) {
      for (std::size_t i = 0; i < slice.size; i += 2) {  // Box-Muller, two normals per pair
        const float u1 = std::max(math::philox_uniform(seed, stream, 0, i), 1e-7f);
        const float u2 = math::philox_uniform(seed, stream, 0, i + 1);
        const float radius = std::sqrt(-2.0f * std::log(u1));
        values[i] = radius * std::cos(6.2831853f * u2);
        if (i + 1 < slice.size) values[i + 1] = radius * std::sin(6.2831853f * u2);
      }
      std::fill(values, values + config_.embed, 0.0f);  // <pad>
      continue;
    }
    const bool recurrent = slice.name.rfind("rnn.", 0) == 0;
    const std::int64_t fan_in = slice.shape.size() == 2 ? slice.shape[1] : 0;
    float bound = recurrent ? 1.0f / std::sqrt(static_cast<float>(config_.hidden)) : 0.0f;
    if (!recurrent) {
      // A dense bias takes its weight's fan-in (the weight is registered just before it).
      const std::int64_t in = fan_in > 0 ? fan_in : params_.slice(p - 1).shape[1];
      bound = 1.0f / std::sqrt(static_cast<float>(in));
    }
    for (std::size_t i = 0; i < slice.size; ++i) {
      values[i] = (2.0f * math::philox_uniform(seed, stream, 0, i) - 1.0f) * bound;
    }
  }
}

RecurrentParams Model::params_of(const RecurrentSlot& slot) const {
  return {params_.value(slot.w_ih), params_.value(slot.w_hh), params_.value(slot.b_ih),
          params_.value(slot.b_hh)};
}

RecurrentGrads Model::grads_of(const RecurrentSlot& slot) {
  return {params_.grad(slot.w_ih), params_.grad(slot.w_hh), params_.grad(slot.b_ih),
          params_.grad(slot.b_hh)};
}

bool Model::dropout_active() const {
  return training_ && config_.dropout > 0.0f;
}

const float* Model::layer_input(int layer) const {
  const auto l = static_cast<std::size_t>(layer);
  return layer == 0 || dropout_active() ? inputs_[l].data() : outputs_[l - 1].data();
}

void Model::apply_dropout(std::vector<float>& values, std::uint32_t stream) const {
  if (!dropout_active()) return;
  for (std::size_t i = 0; i < values.size(); ++i) {
    values[i] *= math::dropout_scale(dropout_seed_, stream, dropout_step_, i, config_.dropout);
  }
}

void Model::dense_forward(const float* in, int rows, int in_width, std::size_t weight,
                          std::size_t bias, int out_width, std::vector<float>& out) const {
  out.resize(static_cast<std::size_t>(rows) * static_cast<std::size_t>(out_width));
  cpu::sgemm(Trans::kNo, Trans::kYes, rows, out_width, in_width, 1.0f, in, in_width,
             params_.value(weight), in_width, 0.0f, out.data(), out_width);
  const float* b = params_.value(bias);
  for (std::size_t i = 0; i < out.size(); ++i) out[i] += b[i % static_cast<std::size_t>(out_width)];
}

void Model::dense_backward(const float* d_out, int rows, int out_width, const float* in,
                           int in_width, std::size_t weight, std::size_t bias, float* d_in) {
  cpu::sgemm(Trans::kYes, Trans::kNo, out_width, in_width, rows, 1.0f, d_out, out_width, in,
             in_width, 1.0f, params_.grad(weight), in_width);
  float* d_bias = params_.grad(bias);
  for (std::size_t i = 0; i < static_cast<std::size_t>(rows) * static_cast<std::size_t>(out_width);
       ++i) {
    d_bias[i % static_cast<std::size_t>(out_width)] += d_out[i];
  }
  cpu::sgemm(Trans::kNo, Trans::kNo, rows, in_width, out_width, 1.0f, d_out, out_width,
             params_.value(weight), in_width, 0.0f, d_in, in_width);
}

StepResult Model::evaluate(const io::Batch& batch) {
  return forward(batch, false);
}

StepResult Model::train_step(const io::Batch& batch, std::uint64_t dropout_seed,
                             std::uint64_t dropout_step) {
  dropout_seed_ = dropout_seed;
  dropout_step_ = dropout_step;
  using Clock = std::chrono::steady_clock;
  const auto begin = Clock::now();
  StepResult result = forward(batch, true);
  const auto forward_end = Clock::now();
  if (result.rows > 0) backward(batch);
  result.forward_seconds = std::chrono::duration<double>(forward_end - begin).count();
  result.backward_seconds = std::chrono::duration<double>(Clock::now() - forward_end).count();
  return result;
}

StepResult Model::forward(const io::Batch& batch, bool training) {
  training_ = training;
  StepResult result;
  result.rows = static_cast<std::int64_t>(batch.rows);
  if (batch.rows == 0) return result;
  layout_ = PackedLayout::from_lengths(batch.lengths);
  const auto rows = static_cast<std::size_t>(layout_.rows());
  const auto E = static_cast<std::size_t>(config_.embed);
  const auto H = static_cast<std::size_t>(config_.hidden);
  const auto F = static_cast<std::size_t>(config_.feature_size());
  const int dirs = config_.directions();

  // Embedding lookup straight into packed order.
  inputs_.resize(static_cast<std::size_t>(config_.layers));
  auto& x0 = inputs_[0];
  x0.resize(rows * E);
  const float* table = params_.value(embedding_);
  for (int s = 0; s < layout_.sequences(); ++s) {
    const std::int32_t* tokens =
        batch.tokens.data() +
        at(static_cast<std::size_t>(layout_.order[static_cast<std::size_t>(s)]), batch.max_len);
    for (int t = 0; t < layout_.lengths[static_cast<std::size_t>(s)]; ++t) {
      const float* row = table + at(static_cast<std::size_t>(tokens[t]), E);
      std::copy(row, row + E, x0.data() + at(static_cast<std::size_t>(layout_.row(s, t)), E));
    }
  }
  apply_dropout(x0, 0);

  // Each layer's directions write side by side into its output rows: the next layer's input
  // (through a dropped-out copy when dropout is on), or the readout's.
  outputs_.resize(static_cast<std::size_t>(config_.layers));
  for (int l = 0; l < config_.layers; ++l) {
    if (l > 0 && dropout_active()) {
      inputs_[static_cast<std::size_t>(l)] = outputs_[static_cast<std::size_t>(l - 1)];
      apply_dropout(inputs_[static_cast<std::size_t>(l)], static_cast<std::uint32_t>(l));
    }
    auto& out = outputs_[static_cast<std::size_t>(l)];
    out.resize(rows * F);
    for (int d = 0; d < dirs; ++d) {
      RecurrentSlot& slot = recurrent_[static_cast<std::size_t>(l * dirs + d)];
      slot.layer.forward(layout_, layer_input(l), params_of(slot),
                         out.data() + static_cast<std::size_t>(d) * H, static_cast<int>(F));
    }
  }

  readout_forward();

  const auto B = static_cast<std::size_t>(layout_.sequences());
  const auto K = static_cast<std::size_t>(config_.classes);
  const float* classifier_in = features_.data();
  int classifier_width = static_cast<int>(F);
  if (config_.dense_hidden > 0) {
    const auto D = static_cast<std::size_t>(config_.dense_hidden);
    dense_forward(features_.data(), static_cast<int>(B), static_cast<int>(F), hidden_w_, hidden_b_,
                  config_.dense_hidden, hidden_pre_);
    hidden_act_.resize(B * D);
    for (std::size_t i = 0; i < B * D; ++i) {
      const float z = hidden_pre_[i];
      hidden_act_[i] =
          config_.dense_activation == Activation::kRelu ? std::max(z, 0.0f) : std::tanh(z);
    }
    classifier_in = hidden_act_.data();
    classifier_width = config_.dense_hidden;
  }
  dense_forward(classifier_in, static_cast<int>(B), classifier_width, output_w_, output_b_,
                config_.classes, logits_);

  sorted_labels_.resize(B);
  result.predictions.assign(B, 0);
  for (std::size_t s = 0; s < B; ++s) {
    const auto b = static_cast<std::size_t>(layout_.order[s]);
    const std::int32_t label = batch.labels[b];
    sorted_labels_[s] = label;
    const float* row = logits_.data() + at(s, K);
    const auto predicted = static_cast<std::int32_t>(std::max_element(row, row + K) - row);
    result.predictions[b] = predicted;
    result.correct += predicted == label ? 1 : 0;
    const float weight = config_.class_weights.empty()
                             ? 1.0f
                             : config_.class_weights[static_cast<std::size_t>(label)];
    result.loss_sum += math::softmax_xent_row(row, config_.classes, label, config_.label_smoothing,
                                              weight, 1.0f, static_cast<float*>(nullptr));
  }
  return result;
}

void Model::readout_forward() {
  const auto H = static_cast<std::size_t>(config_.hidden);
  const auto F = static_cast<std::size_t>(config_.feature_size());
  const auto B = static_cast<std::size_t>(layout_.sequences());
  features_.assign(B * F, 0.0f);
  argmax_rows_.assign(config_.readout == Readout::kMax ? B * F : 0, 0);
  for (std::size_t s = 0; s < B; ++s) {
    const int length = layout_.lengths[s];
    float* feature = features_.data() + at(s, F);
    switch (config_.readout) {
      case Readout::kLast: {
        // Each direction's state after reading the whole sequence: forward at the last step,
        // reverse at the first (PyTorch's h_n).
        const float* last =
            top() + at(static_cast<std::size_t>(layout_.row(static_cast<int>(s), length - 1)), F);
        std::copy(last, last + H, feature);
        if (config_.bidirectional) {
          const float* first =
              top() + at(static_cast<std::size_t>(layout_.row(static_cast<int>(s), 0)), F);
          std::copy(first + H, first + 2 * H, feature + H);
        }
        break;
      }
      case Readout::kMean:
        for (int t = 0; t < length; ++t) {
          const float* row =
              top() + at(static_cast<std::size_t>(layout_.row(static_cast<int>(s), t)), F);
          for (std::size_t j = 0; j < F; ++j) feature[j] += row[j];
        }
        for (std::size_t j = 0; j < F; ++j) feature[j] /= static_cast<float>(length);
        break;
      case Readout::kMax:
        for (int t = 0; t < length; ++t) {
          const int r = layout_.row(static_cast<int>(s), t);
          const float* row = top() + at(static_cast<std::size_t>(r), F);
          for (std::size_t j = 0; j < F; ++j) {
            if (t == 0 || row[j] > feature[j]) {
              feature[j] = row[j];
              argmax_rows_[at(s, F) + j] = r;
            }
          }
        }
        break;
    }
  }
}

void Model::readout_backward(const std::vector<float>& d_features,
                             std::vector<float>& d_top) const {
  const auto H = static_cast<std::size_t>(config_.hidden);
  const auto F = static_cast<std::size_t>(config_.feature_size());
  const auto B = static_cast<std::size_t>(layout_.sequences());
  d_top.assign(static_cast<std::size_t>(layout_.rows()) * F, 0.0f);
  for (std::size_t s = 0; s < B; ++s) {
    const int length = layout_.lengths[s];
    const float* d_feature = d_features.data() + at(s, F);
    switch (config_.readout) {
      case Readout::kLast: {
        float* last = d_top.data() +
                      at(static_cast<std::size_t>(layout_.row(static_cast<int>(s), length - 1)), F);
        for (std::size_t j = 0; j < H; ++j) last[j] += d_feature[j];
        if (config_.bidirectional) {
          float* first =
              d_top.data() + at(static_cast<std::size_t>(layout_.row(static_cast<int>(s), 0)), F);
          for (std::size_t j = H; j < 2 * H; ++j) first[j] += d_feature[j];
        }
        break;
      }
      case Readout::kMean:
        for (int t = 0; t < length; ++t) {
          float* row =
              d_top.data() + at(static_cast<std::size_t>(layout_.row(static_cast<int>(s), t)), F);
          for (std::size_t j = 0; j < F; ++j) row[j] += d_feature[j] / static_cast<float>(length);
        }
        break;
      case Readout::kMax:
        for (std::size_t j = 0; j < F; ++j) {
          d_top[at(static_cast<std::size_t>(argmax_rows_[at(s, F) + j]), F) + j] += d_feature[j];
        }
        break;
    }
  }
}

void Model::backward(const io::Batch& batch) {
  const auto B = static_cast<std::size_t>(layout_.sequences());
  const auto K = static_cast<std::size_t>(config_.classes);
  const auto F = static_cast<std::size_t>(config_.feature_size());
  const auto H = static_cast<std::size_t>(config_.hidden);
  const auto E = static_cast<std::size_t>(config_.embed);
  const auto rows = static_cast<std::size_t>(layout_.rows());
  const int dirs = config_.directions();

  std::vector<float> d_logits(B * K);
  for (std::size_t s = 0; s < B; ++s) {
    const std::int32_t label = sorted_labels_[s];
    const float weight = config_.class_weights.empty()
                             ? 1.0f
                             : config_.class_weights[static_cast<std::size_t>(label)];
    math::softmax_xent_row(logits_.data() + at(s, K), config_.classes, label,
                           config_.label_smoothing, weight, 1.0f, d_logits.data() + at(s, K));
  }
  std::vector<float> d_features(B * F);
  if (config_.dense_hidden > 0) {
    const auto D = static_cast<std::size_t>(config_.dense_hidden);
    std::vector<float> d_hidden(B * D);
    dense_backward(d_logits.data(), static_cast<int>(B), config_.classes, hidden_act_.data(),
                   config_.dense_hidden, output_w_, output_b_, d_hidden.data());
    for (std::size_t i = 0; i < B * D; ++i) {
      const float a = hidden_act_[i];
      d_hidden[i] *= config_.dense_activation == Activation::kRelu
                         ? (hidden_pre_[i] > 0.0f ? 1.0f : 0.0f)
                         : 1.0f - a * a;
    }
    dense_backward(d_hidden.data(), static_cast<int>(B), config_.dense_hidden, features_.data(),
                   static_cast<int>(F), hidden_w_, hidden_b_, d_features.data());
  } else {
    dense_backward(d_logits.data(), static_cast<int>(B), config_.classes, features_.data(),
                   static_cast<int>(F), output_w_, output_b_, d_features.data());
  }
  const auto ready = [this](std::size_t tensor) {
    if (grads_ready_) grads_ready_(params_.slice(tensor).offset);
  };
  ready(config_.dense_hidden > 0 ? hidden_w_ : output_w_);
  std::vector<float> d_joined;
  readout_backward(d_features, d_joined);

  // Down the stack: each direction reads its columns of the joined gradient and the second adds
  // its input gradient to the first's; then undo the dropout that fed the layer.
  std::vector<float> d_input;
  for (int l = config_.layers - 1; l >= 0; --l) {
    const auto in = static_cast<std::size_t>(l == 0 ? config_.embed : config_.feature_size());
    d_input.resize(rows * in);
    for (int d = 0; d < dirs; ++d) {
      RecurrentSlot& slot = recurrent_[static_cast<std::size_t>(l * dirs + d)];
      slot.layer.backward(
          layout_, layer_input(l),
          outputs_[static_cast<std::size_t>(l)].data() + static_cast<std::size_t>(d) * H,
          d_joined.data() + static_cast<std::size_t>(d) * H, static_cast<int>(F), params_of(slot),
          grads_of(slot), d_input.data(), d > 0);
    }
    ready(recurrent_[static_cast<std::size_t>(l * dirs)].w_ih);
    apply_dropout(d_input, static_cast<std::uint32_t>(l));  // the stream that fed layer l
    d_joined.swap(d_input);
  }

  // Embedding: scatter-add each packed row's gradient into its token's row.
  float* table_grad = params_.grad(embedding_);
  for (int s = 0; s < layout_.sequences(); ++s) {
    const std::int32_t* tokens =
        batch.tokens.data() +
        at(static_cast<std::size_t>(layout_.order[static_cast<std::size_t>(s)]), batch.max_len);
    for (int t = 0; t < layout_.lengths[static_cast<std::size_t>(s)]; ++t) {
      const float* d_row = d_joined.data() + at(static_cast<std::size_t>(layout_.row(s, t)), E);
      float* g = table_grad + at(static_cast<std::size_t>(tokens[t]), E);
      for (std::size_t j = 0; j < E; ++j) g[j] += d_row[j];
    }
  }
  ready(embedding_);
}

std::vector<float> Model::logits() const {
  const auto K = static_cast<std::size_t>(config_.classes);
  std::vector<float> out(logits_.size());
  for (int s = 0; s < layout_.sequences(); ++s) {
    std::copy(
        logits_.data() + at(static_cast<std::size_t>(s), K),
        logits_.data() + at(static_cast<std::size_t>(s), K) + K,
        out.data() + at(static_cast<std::size_t>(layout_.order[static_cast<std::size_t>(s)]), K));
  }
  return out;
}

std::vector<float> Model::top_outputs(std::size_t max_len) const {
  const auto F = static_cast<std::size_t>(config_.feature_size());
  std::vector<float> out(static_cast<std::size_t>(layout_.sequences()) * max_len * F, 0.0f);
  for (int s = 0; s < layout_.sequences(); ++s) {
    const auto b = static_cast<std::size_t>(layout_.order[static_cast<std::size_t>(s)]);
    for (int t = 0; t < layout_.lengths[static_cast<std::size_t>(s)]; ++t) {
      const float* row = top() + at(static_cast<std::size_t>(layout_.row(s, t)), F);
      std::copy(row, row + F, out.data() + (b * max_len + static_cast<std::size_t>(t)) * F);
    }
  }
  return out;
}

std::vector<float> Model::final_states() const {
  const auto H = static_cast<std::size_t>(config_.hidden);
  const auto F = static_cast<std::size_t>(config_.feature_size());
  const auto B = static_cast<std::size_t>(layout_.sequences());
  std::vector<float> out(recurrent_.size() * B * H);
  for (std::size_t k = 0; k < recurrent_.size(); ++k) {
    const bool reverse = k % static_cast<std::size_t>(config_.directions()) == 1;
    for (int s = 0; s < layout_.sequences(); ++s) {
      const int step = reverse ? 0 : layout_.lengths[static_cast<std::size_t>(s)] - 1;
      const float* h = outputs_[k / static_cast<std::size_t>(config_.directions())].data() +
                       at(static_cast<std::size_t>(layout_.row(s, step)), F) + (reverse ? H : 0);
      const auto b = static_cast<std::size_t>(layout_.order[static_cast<std::size_t>(s)]);
      std::copy(h, h + H, out.data() + (k * B + b) * H);
    }
  }
  return out;
}

}  // namespace engine
