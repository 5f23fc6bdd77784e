#include "engine/device_model.h"

#include <algorithm>
#include <stdexcept>
#include <string>
#include <utility>

namespace engine {

namespace {

std::size_t at(std::size_t row, std::size_t width) {
  return row * width;
}

std::size_t sz(int value) {
  return static_cast<std::size_t>(value);
}

}  // namespace

DeviceModel::DeviceModel(const ModelConfig& config, Backend& backend, bool fused_recurrent)
    : backend_(backend),
      host_(config),
      values_(backend),
      grads_(backend),
      class_weights_(backend),
      indices_(backend),
      top_(backend),
      features_(backend),
      hidden_pre_(backend),
      hidden_act_(backend),
      logits_(backend),
      losses_(backend),
      d_logits_(backend),
      argmax_rows_(backend),
      predictions_(backend),
      projection_(backend),
      recurrent_product_(backend),
      d_recurrent_(backend),
      h_carry_(backend),
      c_carry_(backend),
      h_previous_(backend),
      d_h_(backend),
      d_direction_(backend),
      d_joined_(backend),
      d_input_(backend),
      d_features_(backend),
      d_hidden_(backend) {
  const ParameterArena& arena = host_.parameters();
  const auto offset = [&](const std::string& name) { return arena.slice(name).offset; };
  embedding_ = offset("embedding.weight");
  for (int l = 0; l < config.layers; ++l) {
    for (int d = 0; d < config.directions(); ++d) {
      const std::string suffix = "_l" + std::to_string(l) + (d == 1 ? "_reverse" : "");
      recurrent_.push_back({offset("rnn.weight_ih" + suffix), offset("rnn.weight_hh" + suffix),
                            offset("rnn.bias_ih" + suffix), offset("rnn.bias_hh" + suffix)});
      layers_.push_back({DeviceBuffer<float>(backend), DeviceBuffer<float>(backend),
                         DeviceBuffer<float>(backend)});
    }
    inputs_.emplace_back(backend);
    if (fused_recurrent) {
      const int in = l == 0 ? config.embed : config.feature_size();
      fused_.push_back(
          backend.make_fused_recurrent(config.cell, in, config.hidden, config.bidirectional));
      if (!fused_.back()) {
        throw std::invalid_argument("the " + backend.name() + " backend has no library RNN for " +
                                    cell_name(config.cell) + " layers");
      }
    }
  }
  if (config.dense_hidden > 0) {
    hidden_w_ = offset("hidden.weight");
    hidden_b_ = offset("hidden.bias");
  }
  output_w_ = offset("output.weight");
  output_b_ = offset("output.bias");
  values_.ensure(size());
  grads_.ensure(size());
  if (!config.class_weights.empty()) {
    backend_.upload(class_weights_.ensure(config.class_weights.size()), config.class_weights.data(),
                    config.class_weights.size() * sizeof(float));
  }
  upload_parameters();
  zero_grads();
}

void DeviceModel::initialize(std::uint64_t seed) {
  host_.initialize(seed);
  upload_parameters();
}

void DeviceModel::upload_parameters() {
  backend_.upload(values_.data(), host_.parameters().values().data(), size() * sizeof(float));
}

void DeviceModel::download_parameters() {
  backend_.download(host_.parameters().values().data(), values_.data(), size() * sizeof(float));
}

std::vector<float> DeviceModel::download_grads() {
  std::vector<float> out(size());
  backend_.download(out.data(), grads_.data(), size() * sizeof(float));
  return out;
}

void DeviceModel::zero_grads() {
  backend_.zero(grads_.data(), size() * sizeof(float));
}

StepResult DeviceModel::evaluate(const io::Batch& batch) {
  if (batch.rows == 0) return {};
  forward(batch, false);
  return collect(batch);
}

StepResult DeviceModel::train_step(const io::Batch& batch, std::uint64_t dropout_seed,
                                   std::uint64_t dropout_step) {
  dropout_seed_ = dropout_seed;
  dropout_step_ = dropout_step;
  if (batch.rows == 0) return {};
  // Forward and backward are queued back to back (one wait, at the end, for the losses); the
  // device's own marks say how long each took.
  backend_.mark(0);
  forward(batch, true);
  backend_.mark(1);
  backward();
  backend_.mark(2);
  StepResult result = collect(batch);
  result.forward_seconds = backend_.seconds_between(0, 1);
  result.backward_seconds = backend_.seconds_between(1, 2);
  return result;
}

// Packed token ids, lengths, step offsets and labels (sorted order), and for training the
// embedding's scatter plan, in one host array uploaded with one copy.
void DeviceModel::stage_indices(const io::Batch& batch, bool training) {
  const int rows = layout_.rows();
  const int B = layout_.sequences();
  const int T = layout_.steps();
  std::vector<std::int32_t> ids(sz(rows));
  for (int s = 0; s < B; ++s) {
    const std::int32_t* tokens = batch.tokens.data() + at(sz(layout_.order[sz(s)]), batch.max_len);
    for (int t = 0; t < layout_.lengths[sz(s)]; ++t) ids[sz(layout_.row(s, t))] = tokens[t];
  }
  staging_.clear();
  staging_.insert(staging_.end(), ids.begin(), ids.end());
  staging_.insert(staging_.end(), layout_.lengths.begin(), layout_.lengths.end());
  staging_.insert(staging_.end(), layout_.step_offsets.begin(), layout_.step_offsets.end());
  for (int s = 0; s < B; ++s) staging_.push_back(batch.labels[sz(layout_.order[sz(s)])]);
  std::vector<std::int32_t> by_token, tokens, starts;
  if (training) {
    // Rows grouped by token, each token's rows in packed order: a counting sort over the
    // vocabulary (a comparison sort of the rows took milliseconds of host time per step at
    // batch 512, while the GPU waited).
    const auto vocab = static_cast<std::int32_t>(config().vocab_size);
    std::vector<std::int32_t>& next = token_slots_;  // per token: its row count, then its next slot
    next.assign(sz(vocab), 0);
    for (const std::int32_t id : ids) {
      if (id < 0 || id >= vocab)
        throw std::out_of_range("token id " + std::to_string(id) + " is outside the vocabulary");
      ++next[sz(id)];
    }
    int slot = 0;
    for (std::int32_t token = 0; token < vocab; ++token) {
      const std::int32_t count = next[sz(token)];
      if (count == 0) continue;
      tokens.push_back(token);
      starts.push_back(slot);
      next[sz(token)] = slot;
      slot += count;
    }
    starts.push_back(rows);
    by_token.resize(sz(rows));
    for (int r = 0; r < rows; ++r) by_token[sz(next[sz(ids[sz(r)])]++)] = r;
    staging_.insert(staging_.end(), tokens.begin(), tokens.end());
    staging_.insert(staging_.end(), starts.begin(), starts.end());
    staging_.insert(staging_.end(), by_token.begin(), by_token.end());
    // Each packed row's previous row in either direction (-1 where a sequence starts there).
    for (const bool reverse : {false, true}) {
      const std::size_t first = staging_.size();
      staging_.resize(first + sz(rows), -1);
      for (int t = 0; t < T; ++t) {
        const int with_state = rows_with_state(reverse, t);
        const int p = reverse ? t + 1 : t - 1;
        for (int s = 0; s < with_state; ++s)
          staging_[first + sz(layout_.row(s, t))] = layout_.row(s, p);
      }
    }
  }
  std::int32_t* device = indices_.ensure(staging_.size());
  backend_.upload(device, staging_.data(), staging_.size() * sizeof(std::int32_t));
  ids_ = device;
  lengths_ = ids_ + rows;
  step_offsets_ = lengths_ + B;
  labels_ = step_offsets_ + T + 1;
  scatter_ = {};
  if (training) {
    scatter_.unique = static_cast<int>(tokens.size());
    scatter_.tokens = labels_ + B;
    scatter_.starts = scatter_.tokens + tokens.size();
    scatter_.rows = scatter_.starts + starts.size();
    previous_rows_[0] = scatter_.rows + rows;
    previous_rows_[1] = previous_rows_[0] + rows;
  }
}

void DeviceModel::maybe_dropout(float* values, std::size_t count, std::uint32_t stream) {
  if (!training_ || config().dropout <= 0.0f) return;
  backend_.dropout(values, count, {dropout_seed_, stream, dropout_step_, config().dropout});
}

PackedBatch DeviceModel::packed_batch() const {
  return {layout_.rows(), layout_.sequences(), layout_.steps(), layout_.lengths.data(), lengths_};
}

std::vector<DirectionWeights> DeviceModel::weights_of(int layer) const {
  std::vector<DirectionWeights> out;
  for (int d = 0; d < config().directions(); ++d) {
    const Recurrent& p = recurrent_[sz(layer * config().directions() + d)];
    out.push_back({value(p.w_ih), value(p.w_hh), value(p.b_ih), value(p.b_hh)});
  }
  return out;
}

std::vector<DirectionGrads> DeviceModel::grads_of(int layer) {
  std::vector<DirectionGrads> out;
  for (int d = 0; d < config().directions(); ++d) {
    const Recurrent& p = recurrent_[sz(layer * config().directions() + d)];
    out.push_back({grad(p.w_ih), grad(p.w_hh), grad(p.b_ih), grad(p.b_hh)});
  }
  return out;
}

ReadoutShape DeviceModel::readout_shape() const {
  return {layout_.sequences(),    config().hidden, config().feature_size(),
          config().bidirectional, lengths_,        step_offsets_};
}

int DeviceModel::rows_with_state(bool reverse, int t) const {
  const int p = reverse ? t + 1 : t - 1;
  if (p < 0 || p >= layout_.steps()) return 0;
  // Forward: every live row at t was live at t-1. Reverse: the rows live at t+1 continue.
  return reverse ? layout_.batch_sizes[sz(p)] : layout_.batch_sizes[sz(t)];
}

void DeviceModel::dense_forward(const float* in, int rows, int in_width, std::size_t weight,
                                std::size_t bias, int out_width, float* out) {
  backend_.gemm(Transpose::kNo, Transpose::kYes, rows, out_width, in_width, 1.0f, in, in_width,
                value(weight), in_width, 0.0f, out, out_width);
  backend_.add_row_vector(out, rows, out_width, value(bias));
}

void DeviceModel::dense_backward(const float* d_out, int rows, int out_width, const float* in,
                                 int in_width, std::size_t weight, std::size_t bias, float* d_in) {
  backend_.gemm(Transpose::kYes, Transpose::kNo, out_width, in_width, rows, 1.0f, d_out, out_width,
                in, in_width, 1.0f, grad(weight), in_width);
  backend_.add_column_sums(d_out, rows, out_width, grad(bias));
  backend_.gemm(Transpose::kNo, Transpose::kNo, rows, in_width, out_width, 1.0f, d_out, out_width,
                value(weight), in_width, 0.0f, d_in, in_width);
}

void DeviceModel::recurrent_forward(int layer, int direction, const float* x, int input_width) {
  const ModelConfig& c = config();
  const Recurrent& p = recurrent_[sz(layer * c.directions() + direction)];
  LayerState& state = layers_[sz(layer * c.directions() + direction)];
  const bool reverse = direction == 1;
  const int rows = layout_.rows();
  const int H = c.hidden;
  const int GH = gate_count(c.cell) * H;
  float* projection = projection_.ensure(at(sz(rows), sz(GH)));
  float* recurrent = recurrent_product_.ensure(at(sz(layout_.sequences()), sz(GH)));
  float* h = state.outputs.ensure(at(sz(rows), sz(H)));
  float* keep = state.keep.ensure(c.cell == CellType::kRnn ? 1 : at(sz(rows), sz(4 * H)));
  float* cells = state.cells.ensure(c.cell == CellType::kLstm ? at(sz(rows), sz(H)) : 1);

  backend_.gemm(Transpose::kNo, Transpose::kYes, rows, GH, input_width, 1.0f, x, input_width,
                value(p.w_ih), input_width, 0.0f, projection, GH);
  backend_.add_row_vector(projection, rows, GH, value(p.b_ih));
  const int T = layout_.steps();
  for (int k = 0; k < T; ++k) {
    const int t = reverse ? T - 1 - k : k;
    const int n = layout_.batch_sizes[sz(t)];
    const int n_prev = rows_with_state(reverse, t);
    const std::size_t row = sz(layout_.step_offsets[sz(t)]);
    const std::size_t prev = n_prev > 0 ? sz(layout_.step_offsets[sz(reverse ? t + 1 : t - 1)]) : 0;
    if (n_prev > 0) {  // b_hh is added in the cell pass
      backend_.gemm(Transpose::kNo, Transpose::kYes, n_prev, GH, H, 1.0f, h + at(prev, sz(H)), H,
                    value(p.w_hh), H, 0.0f, recurrent, GH);
    }
    backend_.cell_forward(
        c.cell, {n, n_prev, H}, projection + at(row, sz(GH)), recurrent, value(p.b_hh),
        h + at(prev, sz(H)), cells + (c.cell == CellType::kLstm ? at(prev, sz(H)) : 0),
        keep + (c.cell == CellType::kRnn ? 0 : at(row, sz(4 * H))),
        cells + (c.cell == CellType::kLstm ? at(row, sz(H)) : 0), h + at(row, sz(H)));
  }
}

void DeviceModel::recurrent_backward(int layer, int direction, const float* x, int input_width,
                                     const float* dh, float* dx) {
  const ModelConfig& c = config();
  const Recurrent& p = recurrent_[sz(layer * c.directions() + direction)];
  LayerState& state = layers_[sz(layer * c.directions() + direction)];
  const bool reverse = direction == 1;
  const bool gru = c.cell == CellType::kGru;
  const bool lstm = c.cell == CellType::kLstm;
  const int rows = layout_.rows();
  const int B = layout_.sequences();
  const int H = c.hidden;
  const int GH = gate_count(c.cell) * H;
  const float* h = state.outputs.data();
  const float* keep = state.keep.data();
  const float* cells = state.cells.data();
  // LSTM and RNN: the input projection and the recurrent product meet in one sum, so they share
  // one gradient; GRU's n gate separates them.
  float* d_projection = projection_.ensure(at(sz(rows), sz(GH)));
  float* d_recurrent = gru ? d_recurrent_.ensure(at(sz(rows), sz(GH))) : d_projection;
  float* h_carry = h_carry_.ensure(at(sz(B), sz(H)));
  float* c_carry = c_carry_.ensure(at(sz(B), sz(H)));
  backend_.zero(h_carry, at(sz(B), sz(H)) * sizeof(float));
  if (lstm) backend_.zero(c_carry, at(sz(B), sz(H)) * sizeof(float));

  const int T = layout_.steps();
  for (int k = 0; k < T; ++k) {
    const int t = reverse ? k : T - 1 - k;  // the forward order, backwards
    const int n = layout_.batch_sizes[sz(t)];
    const int n_prev = rows_with_state(reverse, t);
    const std::size_t row = sz(layout_.step_offsets[sz(t)]);
    const std::size_t prev = n_prev > 0 ? sz(layout_.step_offsets[sz(reverse ? t + 1 : t - 1)]) : 0;
    backend_.cell_backward(c.cell, {n, n_prev, H}, keep + (lstm || gru ? at(row, sz(4 * H)) : 0),
                           cells + (lstm ? at(row, sz(H)) : 0),
                           cells + (lstm ? at(prev, sz(H)) : 0), h + at(row, sz(H)),
                           h + at(prev, sz(H)), dh + at(row, sz(H)), h_carry, c_carry,
                           d_projection + at(row, sz(GH)), d_recurrent + at(row, sz(GH)));
    if (n_prev > 0) {
      backend_.gemm(Transpose::kNo, Transpose::kNo, n_prev, H, GH, 1.0f,
                    d_recurrent + at(row, sz(GH)), GH, value(p.w_hh), H, gru ? 1.0f : 0.0f, h_carry,
                    H);
    }
  }

  // Each row's previous state (zero where a sequence starts), for dW_hh as one GEMM.
  float* h_previous = h_previous_.ensure(at(sz(rows), sz(H)));
  backend_.gather_previous(previous_rows_[reverse ? 1 : 0], rows, H, h, h_previous);
  backend_.gemm(Transpose::kYes, Transpose::kNo, GH, H, rows, 1.0f, d_recurrent, GH, h_previous, H,
                1.0f, grad(p.w_hh), H);
  backend_.add_column_sums(d_recurrent, rows, GH, grad(p.b_hh));
  backend_.gemm(Transpose::kYes, Transpose::kNo, GH, input_width, rows, 1.0f, d_projection, GH, x,
                input_width, 1.0f, grad(p.w_ih), input_width);
  backend_.add_column_sums(d_projection, rows, GH, grad(p.b_ih));
  backend_.gemm(Transpose::kNo, Transpose::kNo, rows, input_width, GH, 1.0f, d_projection, GH,
                value(p.w_ih), input_width, 0.0f, dx, input_width);
}

void DeviceModel::forward(const io::Batch& batch, bool training) {
  training_ = training;
  const ModelConfig& c = config();
  layout_ = PackedLayout::from_lengths(batch.lengths);
  stage_indices(batch, training);
  const auto rows = sz(layout_.rows());
  const auto B = sz(layout_.sequences());
  const auto E = sz(c.embed);
  const auto H = sz(c.hidden);
  const auto F = sz(c.feature_size());
  const auto K = sz(c.classes);
  const int dirs = c.directions();

  float* x0 = inputs_[0].ensure(rows * E);
  backend_.gather_rows(ids_, layout_.rows(), c.embed, value(embedding_), x0);
  maybe_dropout(x0, rows * E, 0);
  for (int l = 0; l < c.layers; ++l) {
    const int in = l == 0 ? c.embed : c.feature_size();
    // Directions side by side: the next layer's input, or the readout's.
    float* joined = (l + 1 < c.layers ? inputs_[sz(l + 1)] : top_).ensure(rows * F);
    if (!fused_.empty()) {
      // The library writes the directions side by side; its output is kept as it was for
      // backward, since the next layer's input gets dropout in place.
      float* y = layers_[sz(l * dirs)].outputs.ensure(rows * F);
      fused_[sz(l)]->forward(packed_batch(), inputs_[sz(l)].data(), weights_of(l).data(), y,
                             training);
      backend_.copy(joined, y, rows * F * sizeof(float));
    } else {
      for (int d = 0; d < dirs; ++d) recurrent_forward(l, d, inputs_[sz(l)].data(), in);
      for (int d = 0; d < dirs; ++d) {
        backend_.copy_rows(joined + sz(d) * H, c.feature_size(),
                           layers_[sz(l * dirs + d)].outputs.data(), c.hidden, layout_.rows(),
                           c.hidden);
      }
    }
    if (l + 1 < c.layers) maybe_dropout(joined, rows * F, static_cast<std::uint32_t>(1 + l));
  }

  backend_.readout_forward(c.readout, readout_shape(), top_.data(), features_.ensure(B * F),
                           argmax_rows_.ensure(c.readout == Readout::kMax ? B * F : 1));
  const float* classifier_in = features_.data();
  int classifier_width = c.feature_size();
  if (c.dense_hidden > 0) {
    const auto D = sz(c.dense_hidden);
    dense_forward(features_.data(), layout_.sequences(), c.feature_size(), hidden_w_, hidden_b_,
                  c.dense_hidden, hidden_pre_.ensure(B * D));
    backend_.activation_forward(c.dense_activation, hidden_pre_.data(), hidden_act_.ensure(B * D),
                                B * D);
    classifier_in = hidden_act_.data();
    classifier_width = c.dense_hidden;
  }
  dense_forward(classifier_in, layout_.sequences(), classifier_width, output_w_, output_b_,
                c.classes, logits_.ensure(B * K));
  backend_.softmax_xent(logits_.data(), layout_.sequences(), c.classes, labels_,
                        c.class_weights.empty() ? nullptr : class_weights_.data(),
                        c.label_smoothing, loss_scale_, losses_.ensure(B), predictions_.ensure(B),
                        training ? d_logits_.ensure(B * K) : nullptr);
}

StepResult DeviceModel::collect(const io::Batch& batch) {
  const auto B = sz(layout_.sequences());
  StepResult result;
  result.rows = static_cast<std::int64_t>(batch.rows);
  std::vector<float> losses(B);
  std::vector<std::int32_t> predicted(B);
  backend_.download(losses.data(), losses_.data(), B * sizeof(float));
  backend_.download(predicted.data(), predictions_.data(), B * sizeof(std::int32_t));
  result.predictions.assign(B, 0);
  for (std::size_t s = 0; s < B; ++s) {
    const auto b = sz(layout_.order[s]);
    result.predictions[b] = predicted[s];
    result.correct += predicted[s] == batch.labels[b] ? 1 : 0;
    result.loss_sum += losses[s];
  }
  return result;
}

void DeviceModel::backward() {
  const ModelConfig& c = config();
  const auto rows = sz(layout_.rows());
  const auto B = sz(layout_.sequences());
  const auto E = sz(c.embed);
  const auto H = sz(c.hidden);
  const auto F = sz(c.feature_size());
  const int dirs = c.directions();

  float* d_features = d_features_.ensure(B * F);
  if (c.dense_hidden > 0) {
    const auto D = sz(c.dense_hidden);
    float* d_hidden = d_hidden_.ensure(B * D);
    dense_backward(d_logits_.data(), layout_.sequences(), c.classes, hidden_act_.data(),
                   c.dense_hidden, output_w_, output_b_, d_hidden);
    backend_.activation_backward(c.dense_activation, hidden_pre_.data(), hidden_act_.data(),
                                 d_hidden, B * D);
    dense_backward(d_hidden, layout_.sequences(), c.dense_hidden, features_.data(),
                   c.feature_size(), hidden_w_, hidden_b_, d_features);
  } else {
    dense_backward(d_logits_.data(), layout_.sequences(), c.classes, features_.data(),
                   c.feature_size(), output_w_, output_b_, d_features);
  }
  const auto ready = [this](std::size_t offset) {
    if (grads_ready_) grads_ready_(offset);
  };
  ready(c.dense_hidden > 0 ? hidden_w_ : output_w_);
  const std::size_t widest = std::max(E, F);
  float* d_joined = d_joined_.ensure(rows * widest);
  backend_.zero(d_joined, rows * F * sizeof(float));
  backend_.readout_backward(c.readout, readout_shape(), d_features, argmax_rows_.data(), d_joined);

  // Down the stack: split the joined gradient by direction, run each direction's backward and
  // sum their input gradients, then undo the dropout that fed the layer.
  float* d_h = d_h_.ensure(rows * H);
  float* d_direction = d_direction_.ensure(rows * widest);
  float* d_input = d_input_.ensure(rows * widest);
  for (int l = c.layers - 1; l >= 0; --l) {
    const int in = l == 0 ? c.embed : c.feature_size();
    if (!fused_.empty()) {
      fused_[sz(l)]->backward(packed_batch(), inputs_[sz(l)].data(),
                              layers_[sz(l * dirs)].outputs.data(), d_joined, weights_of(l).data(),
                              grads_of(l).data(), d_input);
      ready(recurrent_[sz(l * dirs)].w_ih);
      maybe_dropout(d_input, rows * sz(in), static_cast<std::uint32_t>(l));
      std::swap(d_joined, d_input);
      continue;
    }
    backend_.zero(d_input, rows * sz(in) * sizeof(float));
    for (int d = 0; d < dirs; ++d) {
      backend_.copy_rows(d_h, c.hidden, d_joined + sz(d) * H, c.feature_size(), layout_.rows(),
                         c.hidden);
      recurrent_backward(l, d, inputs_[sz(l)].data(), in, d_h, d_direction);
      backend_.accumulate(d_input, d_direction, rows * sz(in));
    }
    ready(recurrent_[sz(l * dirs)].w_ih);
    maybe_dropout(d_input, rows * sz(in), static_cast<std::uint32_t>(l));  // the stream that fed l
    std::swap(d_joined, d_input);
  }
  backend_.scatter_add_rows(scatter_, c.embed, d_joined, grad(embedding_));
  ready(embedding_);
}

std::vector<float> DeviceModel::logits() {
  const auto K = sz(config().classes);
  const auto B = sz(layout_.sequences());
  std::vector<float> sorted(B * K), out(B * K);
  backend_.download(sorted.data(), logits_.data(), B * K * sizeof(float));
  for (std::size_t s = 0; s < B; ++s) {
    std::copy(sorted.begin() + static_cast<std::ptrdiff_t>(s * K),
              sorted.begin() + static_cast<std::ptrdiff_t>((s + 1) * K),
              out.begin() + static_cast<std::ptrdiff_t>(sz(layout_.order[s]) * K));
  }
  return out;
}

}  // namespace engine
