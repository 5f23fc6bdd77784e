#include "layers/recurrent_layer.h"

#include <algorithm>
#include <stdexcept>

#include "kernels/cpu/gemm.h"
#include "kernels/math/rnn_cells.h"

namespace engine {

using cpu::Trans;

int gate_count(CellType cell) {
  switch (cell) {
    case CellType::kRnn:
      return 1;
    case CellType::kLstm:
      return 4;
    case CellType::kGru:
      return 3;
  }
  return 0;
}

namespace {

void add_row_vector(float* matrix, int rows, int columns, const float* vector) {
  for (int r = 0; r < rows; ++r) {
    float* row = matrix + static_cast<std::size_t>(r) * static_cast<std::size_t>(columns);
    for (int c = 0; c < columns; ++c) row[c] += vector[c];
  }
}

void add_column_sums(const float* matrix, int rows, int columns, float* sums) {
  for (int r = 0; r < rows; ++r) {
    const float* row = matrix + static_cast<std::size_t>(r) * static_cast<std::size_t>(columns);
    for (int c = 0; c < columns; ++c) sums[c] += row[c];
  }
}

std::size_t at(int row, int width) {
  return static_cast<std::size_t>(row) * static_cast<std::size_t>(width);
}

}  // namespace

RecurrentLayer::RecurrentLayer(CellType cell, int input_size, int hidden_size, bool reverse)
    : cell_(cell),
      input_(input_size),
      hidden_(hidden_size),
      gates_(gate_count(cell)),
      reverse_(reverse) {
  if (input_size < 1 || hidden_size < 1)
    throw std::invalid_argument("recurrent layer: sizes must be >= 1");
}

std::size_t RecurrentLayer::parameter_count() const {
  const auto gh = static_cast<std::size_t>(gates_ * hidden_);
  return gh * static_cast<std::size_t>(input_ + hidden_ + 2);
}

int RecurrentLayer::rows_with_state(const PackedLayout& layout, int t) const {
  const int p = previous_step(t);
  if (p < 0 || p >= layout.steps()) return 0;
  // Forward: every live row at t was live at t-1. Reverse: the rows live at t+1 continue.
  return reverse_ ? layout.batch_sizes[static_cast<std::size_t>(p)]
                  : layout.batch_sizes[static_cast<std::size_t>(t)];
}

void RecurrentLayer::forward(const PackedLayout& layout, const float* x,
                             const RecurrentParams& params, float* h) {
  const int rows = layout.rows();
  const int H = hidden_;
  const int GH = gates_ * H;
  projection_.resize(at(rows, GH));
  recurrent_.resize(at(layout.sequences(), GH));
  saved_.resize(cell_ == CellType::kRnn ? 0 : at(rows, 4 * H));
  cell_state_.resize(cell_ == CellType::kLstm ? at(rows, H) : 0);

  cpu::sgemm(Trans::kNo, Trans::kYes, rows, GH, input_, 1.0f, x, input_, params.w_ih, input_, 0.0f,
             projection_.data(), GH);
  add_row_vector(projection_.data(), rows, GH, params.b_ih);

  const int T = layout.steps();
  for (int k = 0; k < T; ++k) {
    const int t = reverse_ ? T - 1 - k : k;
    const int n = layout.batch_sizes[static_cast<std::size_t>(t)];
    const int n_prev = rows_with_state(layout, t);
    const int tp = previous_step(t);
    for (int s = 0; s < n; ++s)
      std::copy(params.b_hh, params.b_hh + GH, recurrent_.data() + at(s, GH));
    if (n_prev > 0) {
      cpu::sgemm(Trans::kNo, Trans::kYes, n_prev, GH, H, 1.0f, h + at(layout.row(0, tp), H), H,
                 params.w_hh, H, 1.0f, recurrent_.data(), GH);
    }
    for (int s = 0; s < n; ++s) {
      const int row = layout.row(s, t);
      const int prow = s < n_prev ? layout.row(s, tp) : -1;
      const float* p = projection_.data() + at(row, GH);
      const float* u = recurrent_.data() + at(s, GH);
      float* out = h + at(row, H);
      switch (cell_) {
        case CellType::kLstm: {
          float* keep = saved_.data() + at(row, 4 * H);
          float* c = cell_state_.data() + at(row, H);
          const float* c_prev = prow >= 0 ? cell_state_.data() + at(prow, H) : nullptr;
          for (int j = 0; j < H; ++j) {
            const auto unit =
                math::lstm_forward(p[j] + u[j], p[H + j] + u[H + j], p[2 * H + j] + u[2 * H + j],
                                   p[3 * H + j] + u[3 * H + j], c_prev ? c_prev[j] : 0.0f);
            keep[j] = unit.i;
            keep[H + j] = unit.f;
            keep[2 * H + j] = unit.g;
            keep[3 * H + j] = unit.o;
            c[j] = unit.c;
            out[j] = unit.h;
          }
          break;
        }
        case CellType::kGru: {
          float* keep = saved_.data() + at(row, 4 * H);
          const float* h_prev = prow >= 0 ? h + at(prow, H) : nullptr;
          for (int j = 0; j < H; ++j) {
            const auto unit = math::gru_forward(p[j], p[H + j], p[2 * H + j], u[j], u[H + j],
                                                u[2 * H + j], h_prev ? h_prev[j] : 0.0f);
            keep[j] = unit.r;
            keep[H + j] = unit.z;
            keep[2 * H + j] = unit.n;
            keep[3 * H + j] = u[2 * H + j];
            out[j] = unit.h;
          }
          break;
        }
        case CellType::kRnn:
          for (int j = 0; j < H; ++j) out[j] = math::rnn_forward(p[j] + u[j]);
          break;
      }
    }
  }
}

void RecurrentLayer::backward(const PackedLayout& layout, const float* x, const float* h,
                              const float* dh, const RecurrentParams& params,
                              const RecurrentGrads& grads, float* dx) {
  const int rows = layout.rows();
  const int H = hidden_;
  const int GH = gates_ * H;
  const int B = layout.sequences();
  // Gradients of the pre-activations. For LSTM and RNN the input projection and the recurrent
  // product meet in one sum, so they share one gradient; GRU's n gate separates them.
  float* d_projection = projection_.data();
  if (cell_ == CellType::kGru) d_recurrent_.resize(at(rows, GH));
  float* d_recurrent = cell_ == CellType::kGru ? d_recurrent_.data() : d_projection;
  h_carry_.assign(at(B, H), 0.0f);
  c_carry_.assign(cell_ == CellType::kLstm ? at(B, H) : 0, 0.0f);

  const int T = layout.steps();
  for (int k = 0; k < T; ++k) {
    const int t = reverse_ ? k : T - 1 - k;  // the forward order, backwards
    const int n = layout.batch_sizes[static_cast<std::size_t>(t)];
    const int n_prev = rows_with_state(layout, t);
    const int tp = previous_step(t);
    for (int s = 0; s < n; ++s) {
      const int row = layout.row(s, t);
      const int prow = s < n_prev ? layout.row(s, tp) : -1;
      const float* dh_row = dh + at(row, H);
      float* carry = h_carry_.data() + at(s, H);
      float* dp = d_projection + at(row, GH);
      switch (cell_) {
        case CellType::kLstm: {
          const float* keep = saved_.data() + at(row, 4 * H);
          const float* c = cell_state_.data() + at(row, H);
          const float* c_prev = prow >= 0 ? cell_state_.data() + at(prow, H) : nullptr;
          float* dc = c_carry_.data() + at(s, H);
          for (int j = 0; j < H; ++j) {
            const auto d =
                math::lstm_backward(keep[j], keep[H + j], keep[2 * H + j], keep[3 * H + j], c[j],
                                    c_prev ? c_prev[j] : 0.0f, dh_row[j] + carry[j], dc[j]);
            dp[j] = d.da_i;
            dp[H + j] = d.da_f;
            dp[2 * H + j] = d.da_g;
            dp[3 * H + j] = d.da_o;
            dc[j] = prow >= 0 ? d.dc_prev : 0.0f;
          }
          break;
        }
        case CellType::kGru: {
          const float* keep = saved_.data() + at(row, 4 * H);
          const float* h_prev = prow >= 0 ? h + at(prow, H) : nullptr;
          float* du = d_recurrent + at(row, GH);
          for (int j = 0; j < H; ++j) {
            const auto d =
                math::gru_backward(keep[j], keep[H + j], keep[2 * H + j], keep[3 * H + j],
                                   h_prev ? h_prev[j] : 0.0f, dh_row[j] + carry[j]);
            dp[j] = d.dx_r;
            dp[H + j] = d.dx_z;
            dp[2 * H + j] = d.dx_n;
            du[j] = d.du_r;
            du[H + j] = d.du_z;
            du[2 * H + j] = d.du_n;
            carry[j] = prow >= 0 ? d.dh_prev : 0.0f;  // the direct path; U's part is added below
          }
          break;
        }
        case CellType::kRnn:
          for (int j = 0; j < H; ++j)
            dp[j] = math::rnn_backward(h[at(row, H) + static_cast<std::size_t>(j)],
                                       dh_row[j] + carry[j]);
          break;
      }
    }
    if (n_prev > 0) {
      cpu::sgemm(Trans::kNo, Trans::kNo, n_prev, H, GH, 1.0f,
                 d_recurrent + at(layout.row(0, t), GH), GH, params.w_hh, H,
                 cell_ == CellType::kGru ? 1.0f : 0.0f, h_carry_.data(), H);
    }
  }

  // Each row's previous state (zero where a sequence starts), for dW_hh as one GEMM.
  h_previous_.assign(at(rows, H), 0.0f);
  for (int t = 0; t < T; ++t) {
    const int n_prev = rows_with_state(layout, t);
    if (n_prev > 0) {
      std::copy(h + at(layout.row(0, previous_step(t)), H),
                h + at(layout.row(n_prev, previous_step(t)), H),
                h_previous_.data() + at(layout.row(0, t), H));
    }
  }
  cpu::sgemm(Trans::kYes, Trans::kNo, GH, H, rows, 1.0f, d_recurrent, GH, h_previous_.data(), H,
             1.0f, grads.w_hh, H);
  add_column_sums(d_recurrent, rows, GH, grads.b_hh);
  cpu::sgemm(Trans::kYes, Trans::kNo, GH, input_, rows, 1.0f, d_projection, GH, x, input_, 1.0f,
             grads.w_ih, input_);
  add_column_sums(d_projection, rows, GH, grads.b_ih);
  if (dx != nullptr) {
    cpu::sgemm(Trans::kNo, Trans::kNo, rows, input_, GH, 1.0f, d_projection, GH, params.w_ih,
               input_, 0.0f, dx, input_);
  }
}

}  // namespace engine
