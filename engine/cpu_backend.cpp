#include "engine/cpu_backend.h"

#include <algorithm>
#include <array>
#include <chrono>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <new>
#include <vector>

#include "kernels/cpu/gemm.h"
#include "kernels/cpu/loss_scale.h"
#include "kernels/cpu/rnn_pointwise.h"
#include "kernels/math/dropout.h"
#include "kernels/math/half.h"
#include "kernels/math/softmax_xent.h"
#include "kernels/math/tf32.h"

namespace engine {

namespace {

std::size_t at(std::size_t row, std::size_t width) {
  return row * width;
}

cpu::Trans to_cpu(Transpose t) {
  return t == Transpose::kYes ? cpu::Trans::kYes : cpu::Trans::kNo;
}

class CpuBackend final : public Backend {
 public:
  // Single-threaded BLAS (process-wide), as each --threads replica runs: results do not depend
  // on how OpenBLAS would split a GEMM across cores.
  explicit CpuBackend(Precision precision) : precision_(precision) { cpu::set_blas_threads(1); }

  std::string name() const override { return "cpu"; }
  Precision precision() const override { return precision_; }
  std::string memory_summary() const override { return "host memory"; }

  void* allocate(std::size_t bytes) override {
    void* p = std::malloc(std::max<std::size_t>(bytes, 1));
    if (p == nullptr) throw std::bad_alloc();
    return p;
  }
  void release(void* pointer) override { std::free(pointer); }
  void upload(void* destination, const void* source, std::size_t bytes) override {
    if (bytes > 0) std::memcpy(destination, source, bytes);
  }
  void download(void* destination, const void* source, std::size_t bytes) override {
    if (bytes > 0) std::memcpy(destination, source, bytes);
  }
  void copy(void* destination, const void* source, std::size_t bytes) override {
    if (bytes > 0) std::memmove(destination, source, bytes);
  }
  void zero(void* destination, std::size_t bytes) override {
    if (bytes > 0) std::memset(destination, 0, bytes);
  }
  void copy_rows(float* destination, int destination_stride, const float* source, int source_stride,
                 int rows, int width) override {
    for (int r = 0; r < rows; ++r) {
      const float* from = source + at(static_cast<std::size_t>(r), source_stride);
      std::copy(from, from + width,
                destination +
                    at(static_cast<std::size_t>(r), static_cast<std::size_t>(destination_stride)));
    }
  }
  void synchronize() override {}
  // Work here is done when it is called, so the marks are wall-clock times.
  void mark(int slot) override { marks_.at(static_cast<std::size_t>(slot)) = Clock::now(); }
  double seconds_between(int first, int second) override {
    return std::chrono::duration<double>(marks_.at(static_cast<std::size_t>(second)) -
                                         marks_.at(static_cast<std::size_t>(first)))
        .count();
  }

  void gemm(Transpose trans_a, Transpose trans_b, int m, int n, int k, float alpha, const float* a,
            int lda, const float* b, int ldb, float beta, float* c, int ldc) override {
    if (precision_ != Precision::kFp32) {
      // Operands as stored: A is m x k (or k x m transposed), B is k x n (or n x k), rounded as
      // the GPU's tensor cores see them.
      const int a_rows = trans_a == Transpose::kNo ? m : k;
      const int a_cols = trans_a == Transpose::kNo ? k : m;
      const int b_rows = trans_b == Transpose::kNo ? k : n;
      const int b_cols = trans_b == Transpose::kNo ? n : k;
      rounded_copy(a, a_rows, a_cols, lda, rounded_a_);
      rounded_copy(b, b_rows, b_cols, ldb, rounded_b_);
      cpu::sgemm(to_cpu(trans_a), to_cpu(trans_b), m, n, k, alpha, rounded_a_.data(), a_cols,
                 rounded_b_.data(), b_cols, beta, c, ldc);
      return;
    }
    cpu::sgemm(to_cpu(trans_a), to_cpu(trans_b), m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
  }
  void add_row_vector(float* matrix, int rows, int columns, const float* vector) override {
    for (int r = 0; r < rows; ++r) {
      float* row = matrix + at(static_cast<std::size_t>(r), static_cast<std::size_t>(columns));
      for (int j = 0; j < columns; ++j) row[j] += vector[j];
    }
  }
  void add_column_sums(const float* matrix, int rows, int columns, float* sums) override {
    for (int r = 0; r < rows; ++r) {
      const float* row =
          matrix + at(static_cast<std::size_t>(r), static_cast<std::size_t>(columns));
      for (int j = 0; j < columns; ++j) sums[j] += row[j];
    }
  }
  void accumulate(float* destination, const float* source, std::size_t count) override {
    for (std::size_t i = 0; i < count; ++i) destination[i] += source[i];
  }
  void scale(float* values, std::size_t count, float factor) override {
    for (std::size_t i = 0; i < count; ++i) values[i] *= factor;
  }
  void gather_rows(const std::int32_t* ids, int rows, int width, const float* table,
                   float* out) override {
    const auto w = static_cast<std::size_t>(width);
    for (int r = 0; r < rows; ++r) {
      const float* row = table + at(static_cast<std::size_t>(ids[r]), w);
      std::copy(row, row + w, out + at(static_cast<std::size_t>(r), w));
    }
  }
  void scatter_rows(const std::int32_t* ids, int rows, int width, const float* source,
                    float* out) override {
    const auto w = static_cast<std::size_t>(width);
    for (int r = 0; r < rows; ++r) {
      const float* from = source + at(static_cast<std::size_t>(r), w);
      std::copy(from, from + w, out + at(static_cast<std::size_t>(ids[r]), w));
    }
  }
  void gather_previous(const std::int32_t* previous, int rows, int width, const float* source,
                       float* out) override {
    const auto w = static_cast<std::size_t>(width);
    for (int r = 0; r < rows; ++r) {
      float* to = out + at(static_cast<std::size_t>(r), w);
      if (previous[r] < 0) {
        std::fill(to, to + w, 0.0f);
      } else {
        const float* from = source + at(static_cast<std::size_t>(previous[r]), w);
        std::copy(from, from + w, to);
      }
    }
  }
  void scatter_add_rows(const ScatterPlan& plan, int width, const float* d_rows,
                        float* table_grad) override {
    const auto w = static_cast<std::size_t>(width);
    for (int u = 0; u < plan.unique; ++u) {
      float* g = table_grad + at(static_cast<std::size_t>(plan.tokens[u]), w);
      for (int k = plan.starts[u]; k < plan.starts[u + 1]; ++k) {
        const float* d = d_rows + at(static_cast<std::size_t>(plan.rows[k]), w);
        for (std::size_t j = 0; j < w; ++j) g[j] += d[j];
      }
    }
  }
  void dropout(float* values, std::size_t count, const DropoutDraw& draw) override {
    for (std::size_t i = 0; i < count; ++i)
      values[i] *= math::dropout_scale(draw.seed, draw.stream, draw.step, i, draw.p);
  }

  void cell_forward(CellType cell, const CellStep& step, const float* projection,
                    const float* recurrent, const float* bias, const float* h_prev,
                    const float* c_prev, float* keep, float* c, float* h) override {
    const auto H = static_cast<std::size_t>(step.hidden);
    const std::size_t GH = H * static_cast<std::size_t>(gate_count(cell));
    const float* zeros = zeros_of(H);
    if (u_row_.size() < GH) u_row_.resize(GH);
    float* u = u_row_.data();
    for (int s = 0; s < step.rows; ++s) {
      const auto r = static_cast<std::size_t>(s);
      const bool has = s < step.with_state;
      const float* product = recurrent + at(r, GH);
      for (std::size_t k = 0; k < GH; ++k) u[k] = (has ? product[k] : 0.0f) + bias[k];
      const float* p = projection + at(r, GH);
      switch (cell) {
        case CellType::kLstm:
          cpu::lstm_forward_row(step.hidden, p, u, has ? c_prev + at(r, H) : zeros,
                                keep + at(r, 4 * H), c + at(r, H), h + at(r, H));
          break;
        case CellType::kGru:
          cpu::gru_forward_row(step.hidden, p, u, has ? h_prev + at(r, H) : zeros,
                               keep + at(r, 4 * H), h + at(r, H));
          break;
        case CellType::kRnn:
          cpu::rnn_forward_row(step.hidden, p, u, h + at(r, H));
          break;
      }
    }
  }
  void cell_backward(CellType cell, const CellStep& step, const float* keep, const float* c,
                     const float* c_prev, const float* h, const float* h_prev, const float* dh,
                     float* dh_carry, float* dc_carry, float* d_projection,
                     float* d_recurrent) override {
    const auto H = static_cast<std::size_t>(step.hidden);
    const std::size_t GH = H * static_cast<std::size_t>(gate_count(cell));
    const float* zeros = zeros_of(H);
    for (int s = 0; s < step.rows; ++s) {
      const auto r = static_cast<std::size_t>(s);
      const bool has = s < step.with_state;
      switch (cell) {
        case CellType::kLstm:
          cpu::lstm_backward_row(step.hidden, keep + at(r, 4 * H), c + at(r, H),
                                 has ? c_prev + at(r, H) : zeros, dh + at(r, H),
                                 dh_carry + at(r, H), dc_carry + at(r, H), d_projection + at(r, GH),
                                 has);
          break;
        case CellType::kGru:
          cpu::gru_backward_row(step.hidden, keep + at(r, 4 * H), has ? h_prev + at(r, H) : zeros,
                                dh + at(r, H), dh_carry + at(r, H), d_projection + at(r, GH),
                                d_recurrent + at(r, GH), has);
          break;
        case CellType::kRnn:
          cpu::rnn_backward_row(step.hidden, h + at(r, H), dh + at(r, H), dh_carry + at(r, H),
                                d_projection + at(r, GH));
          break;
      }
    }
  }

  void readout_forward(Readout readout, const ReadoutShape& shape, const float* top,
                       float* features, std::int32_t* argmax_rows) override {
    const auto F = static_cast<std::size_t>(shape.features);
    const auto H = static_cast<std::size_t>(shape.hidden);
    for (int s = 0; s < shape.sequences; ++s) {
      const int length = shape.lengths[s];
      const auto row = [&](int t) { return static_cast<std::size_t>(shape.step_offsets[t] + s); };
      float* feature = features + at(static_cast<std::size_t>(s), F);
      switch (readout) {
        case Readout::kLast: {
          const float* last = top + at(row(length - 1), F);
          std::copy(last, last + H, feature);
          if (shape.bidirectional) {
            const float* first = top + at(row(0), F);
            std::copy(first + H, first + 2 * H, feature + H);
          }
          break;
        }
        case Readout::kMean:
          std::fill(feature, feature + F, 0.0f);
          for (int t = 0; t < length; ++t) {
            const float* values = top + at(row(t), F);
            for (std::size_t j = 0; j < F; ++j) feature[j] += values[j];
          }
          for (std::size_t j = 0; j < F; ++j) feature[j] /= static_cast<float>(length);
          break;
        case Readout::kMax: {
          std::int32_t* argmax = argmax_rows + at(static_cast<std::size_t>(s), F);
          for (int t = 0; t < length; ++t) {
            const float* values = top + at(row(t), F);
            for (std::size_t j = 0; j < F; ++j) {
              if (t == 0 || values[j] > feature[j]) {
                feature[j] = values[j];
                argmax[j] = static_cast<std::int32_t>(row(t));
              }
            }
          }
          break;
        }
      }
    }
  }
  void readout_backward(Readout readout, const ReadoutShape& shape, const float* d_features,
                        const std::int32_t* argmax_rows, float* d_top) override {
    const auto F = static_cast<std::size_t>(shape.features);
    const auto H = static_cast<std::size_t>(shape.hidden);
    for (int s = 0; s < shape.sequences; ++s) {
      const int length = shape.lengths[s];
      const auto row = [&](int t) { return static_cast<std::size_t>(shape.step_offsets[t] + s); };
      const float* d_feature = d_features + at(static_cast<std::size_t>(s), F);
      switch (readout) {
        case Readout::kLast: {
          float* last = d_top + at(row(length - 1), F);
          for (std::size_t j = 0; j < H; ++j) last[j] += d_feature[j];
          if (shape.bidirectional) {
            float* first = d_top + at(row(0), F);
            for (std::size_t j = H; j < 2 * H; ++j) first[j] += d_feature[j];
          }
          break;
        }
        case Readout::kMean:
          for (int t = 0; t < length; ++t) {
            float* values = d_top + at(row(t), F);
            for (std::size_t j = 0; j < F; ++j)
              values[j] += d_feature[j] / static_cast<float>(length);
          }
          break;
        case Readout::kMax: {
          const std::int32_t* argmax = argmax_rows + at(static_cast<std::size_t>(s), F);
          for (std::size_t j = 0; j < F; ++j)
            d_top[at(static_cast<std::size_t>(argmax[j]), F) + j] += d_feature[j];
          break;
        }
      }
    }
  }
  void activation_forward(Activation activation, const float* pre, float* out,
                          std::size_t count) override {
    for (std::size_t i = 0; i < count; ++i)
      out[i] = activation == Activation::kRelu ? std::max(pre[i], 0.0f) : std::tanh(pre[i]);
  }
  void activation_backward(Activation activation, const float* pre, const float* out, float* grad,
                           std::size_t count) override {
    for (std::size_t i = 0; i < count; ++i)
      grad[i] *=
          activation == Activation::kRelu ? (pre[i] > 0.0f ? 1.0f : 0.0f) : 1.0f - out[i] * out[i];
  }
  void softmax_xent(const float* logits, int rows, int classes, const std::int32_t* labels,
                    const float* class_weights, float smoothing, float scale, float* losses,
                    std::int32_t* predictions, float* d_logits) override {
    const auto K = static_cast<std::size_t>(classes);
    for (int r = 0; r < rows; ++r) {
      const float* row = logits + at(static_cast<std::size_t>(r), K);
      const std::int32_t label = labels[r];
      const float weight = class_weights == nullptr ? 1.0f : class_weights[label];
      predictions[r] = static_cast<std::int32_t>(std::max_element(row, row + K) - row);
      losses[r] = math::softmax_xent_row(row, classes, label, smoothing, weight, scale,
                                         d_logits == nullptr
                                             ? static_cast<float*>(nullptr)
                                             : d_logits + at(static_cast<std::size_t>(r), K));
    }
  }

  // Restrict-qualified, so the loops vectorise (the arenas never alias).
  void adam_update(float* __restrict values, const float* __restrict grads, float* __restrict first,
                   float* __restrict second, std::size_t count,
                   const math::AdamStep& step) override {
    for (std::size_t i = 0; i < count; ++i)
      math::adam_update(values[i], grads[i], first[i], second[i], step);
  }
  void sgd_update(float* __restrict values, const float* __restrict grads, float* __restrict buffer,
                  std::size_t count, const math::SgdStep& step) override {
    for (std::size_t i = 0; i < count; ++i) math::sgd_update(values[i], grads[i], buffer[i], step);
  }
  GradCheck unscale_check_norm(float* grads, std::size_t count, float inverse_scale) override {
    const cpu::GradCheck check =
        cpu::unscale_check_norm(std::span<float>(grads, count), inverse_scale);
    return {check.non_finite, check.sum_squares};
  }

 private:
  const float* zeros_of(std::size_t count) {
    if (zeros_.size() < count) zeros_.assign(count, 0.0f);
    return zeros_.data();
  }
  void rounded_copy(const float* source, int rows, int columns, int stride,
                    std::vector<float>& out) const {
    const bool half = precision_ == Precision::kFp16;
    out.resize(at(static_cast<std::size_t>(rows), static_cast<std::size_t>(columns)));
    for (int r = 0; r < rows; ++r) {
      const float* from =
          source + at(static_cast<std::size_t>(r), static_cast<std::size_t>(stride));
      float* to = out.data() + at(static_cast<std::size_t>(r), static_cast<std::size_t>(columns));
      for (int j = 0; j < columns; ++j)
        to[j] = half ? math::round_to_half(from[j]) : math::round_to_tf32(from[j]);
    }
  }

  using Clock = std::chrono::steady_clock;
  Precision precision_;
  std::array<Clock::time_point, 4> marks_{};
  std::vector<float> zeros_;
  std::vector<float> u_row_;                  // one row's recurrent pre-activation (product + b_hh)
  std::vector<float> rounded_a_, rounded_b_;  // fp16 or tf32 GEMM operands
};

}  // namespace

std::unique_ptr<Backend> make_cpu_backend(Precision precision) {
  return std::make_unique<CpuBackend>(precision);
}

}  // namespace engine
