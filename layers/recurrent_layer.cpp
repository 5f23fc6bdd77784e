#include "layers/recurrent_layer.h"

#include <algorithm>
#include <stdexcept>

#include "kernels/cpu/avx512.h"
#include "kernels/cpu/gemm.h"
#include "kernels/cpu/packed_gemm.h"
#include "kernels/cpu/rnn_pointwise.h"

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

void fill_rows(float* matrix, int rows, int columns, const float* vector) {
  for (int r = 0; r < rows; ++r)
    std::copy(vector, vector + columns,
              matrix + static_cast<std::size_t>(r) * static_cast<std::size_t>(columns));
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
      reverse_(reverse),
      zeros_(static_cast<std::size_t>(std::max(hidden_size, 0)), 0.0f) {
  if (input_size < 1 || hidden_size < 1)
    throw std::invalid_argument("recurrent layer: sizes must be >= 1");
}

int RecurrentLayer::rows_with_state(const PackedLayout& layout, int t) const {
  const int p = previous_step(t);
  if (p < 0 || p >= layout.steps()) return 0;
  // Forward: every live row at t was live at t-1. Reverse: the rows live at t+1 continue.
  return reverse_ ? layout.batch_sizes[static_cast<std::size_t>(p)]
                  : layout.batch_sizes[static_cast<std::size_t>(t)];
}

void RecurrentLayer::forward(const PackedLayout& layout, const float* x,
                             const RecurrentParams& params, float* h, int h_stride) {
  const int rows = layout.rows();
  const int H = hidden_;
  const int hs = h_stride_ = h_stride;
  const int GH = gates_ * H;
  projection_.resize(at(rows, GH));
  recurrent_.resize(at(layout.sequences(), GH));
  // LSTM keeps its gates (4H, as wide as its projection rows) in the projection rows it consumed.
  saved_.resize(cell_ == CellType::kGru ? at(rows, 4 * H) : 0);
  row_scratch_.resize(static_cast<std::size_t>(GH));
  cell_state_.resize(cell_ == CellType::kLstm ? at(rows, H) : 0);

  // The bias first, the product added to it: one pass over the rows fewer than adding after.
  // LSTM and RNN add b_hh there too (their recurrent product only adds to the pre-activation);
  // GRU's n gate needs b_hh inside its reset product, so GRU adds it at each step.
  const bool gru = cell_ == CellType::kGru;
  biases_.assign(params.b_ih, params.b_ih + GH);
  if (!gru) {
    for (int j = 0; j < GH; ++j) biases_[static_cast<std::size_t>(j)] += params.b_hh[j];
  }
  fill_rows(projection_.data(), rows, GH, biases_.data());
  cpu::sgemm(Trans::kNo, Trans::kYes, rows, GH, input_, 1.0f, x, input_, params.w_ih, input_, 1.0f,
             projection_.data(), GH);
  // W_hh^T is packed once for every step's product (OpenBLAS would repack it at each).
  const bool packed = cpu::avx512_available();
  if (packed) packed_w_hh_.pack_transposed(params.w_hh, GH, H, H);

  const int T = layout.steps();
  for (int k = 0; k < T; ++k) {
    const int t = reverse_ ? T - 1 - k : k;
    const int n = layout.batch_sizes[static_cast<std::size_t>(t)];
    const int n_prev = rows_with_state(layout, t);
    const int tp = previous_step(t);
    // Rows without a previous state get no product: zero (LSTM, RNN) or just b_hh (GRU).
    for (int s = gru ? 0 : n_prev; s < n; ++s) {
      float* u = recurrent_.data() + at(s, GH);
      if (gru) {
        std::copy(params.b_hh, params.b_hh + GH, u);
      } else {
        std::fill(u, u + GH, 0.0f);
      }
    }
    if (n_prev > 0 && packed) {
      cpu::gemm_packed(n_prev, h + at(layout.row(0, tp), hs), hs, packed_w_hh_, recurrent_.data(),
                       GH, gru);
    } else if (n_prev > 0) {
      cpu::sgemm(Trans::kNo, Trans::kYes, n_prev, GH, H, 1.0f, h + at(layout.row(0, tp), hs), hs,
                 params.w_hh, H, gru ? 1.0f : 0.0f, recurrent_.data(), GH);
    }
    for (int s = 0; s < n; ++s) {
      const int row = layout.row(s, t);
      const int prow = s < n_prev ? layout.row(s, tp) : -1;
      const float* p = projection_.data() + at(row, GH);
      const float* u = recurrent_.data() + at(s, GH);
      float* out = h + at(row, hs);
      switch (cell_) {
        case CellType::kLstm:
          // In place: the gates kept for backward replace the projection row.
          cpu::lstm_forward_row_in_place(
              H, projection_.data() + at(row, GH), u,
              prow >= 0 ? cell_state_.data() + at(prow, H) : zeros_.data(),
              cell_state_.data() + at(row, H), out, row_scratch_.data());
          break;
        case CellType::kGru:
          cpu::gru_forward_row(H, p, u, prow >= 0 ? h + at(prow, hs) : zeros_.data(),
                               saved_.data() + at(row, 4 * H), out);
          break;
        case CellType::kRnn:
          cpu::rnn_forward_row(H, p, u, out);
          break;
      }
    }
  }
}

void RecurrentLayer::backward(const PackedLayout& layout, const float* x, const float* h,
                              const float* dh, int dh_stride, const RecurrentParams& params,
                              const RecurrentGrads& grads, float* dx, bool add_to_dx) {
  const int rows = layout.rows();
  const int H = hidden_;
  const int hs = h_stride_;
  const int GH = gates_ * H;
  const int B = layout.sequences();
  // Gradients of the pre-activations. For LSTM and RNN the input projection and the recurrent
  // product meet in one sum, so they share one gradient; GRU's n gate separates them.
  float* d_projection = projection_.data();
  if (cell_ == CellType::kGru) d_recurrent_.resize(at(rows, GH));
  float* d_recurrent = cell_ == CellType::kGru ? d_recurrent_.data() : d_projection;
  h_carry_.assign(at(B, H), 0.0f);
  c_carry_.assign(cell_ == CellType::kLstm ? at(B, H) : 0, 0.0f);
  const bool packed = cpu::avx512_available();
  if (packed) packed_w_hh_.pack(params.w_hh, GH, H, H);
  biases_.assign(static_cast<std::size_t>(GH), 0.0f);  // LSTM sums it row by row

  const int T = layout.steps();
  for (int k = 0; k < T; ++k) {
    const int t = reverse_ ? k : T - 1 - k;  // the forward order, backwards
    const int n = layout.batch_sizes[static_cast<std::size_t>(t)];
    const int n_prev = rows_with_state(layout, t);
    const int tp = previous_step(t);
    for (int s = 0; s < n; ++s) {
      const int row = layout.row(s, t);
      const int prow = s < n_prev ? layout.row(s, tp) : -1;
      const float* dh_row = dh + at(row, dh_stride);
      float* carry = h_carry_.data() + at(s, H);
      float* dp = d_projection + at(row, GH);
      switch (cell_) {
        case CellType::kLstm:  // the gates kept in this row become their gradients
          cpu::lstm_backward_row_in_place(
              H, dp, cell_state_.data() + at(row, H),
              prow >= 0 ? cell_state_.data() + at(prow, H) : zeros_.data(), dh_row, carry,
              c_carry_.data() + at(s, H), prow >= 0, biases_.data(), row_scratch_.data());
          break;
        case CellType::kGru:
          // The carry becomes the direct part of dh_prev; U's part is added by the GEMM below.
          cpu::gru_backward_row(H, saved_.data() + at(row, 4 * H),
                                prow >= 0 ? h + at(prow, hs) : zeros_.data(), dh_row, carry, dp,
                                d_recurrent + at(row, GH), prow >= 0);
          break;
        case CellType::kRnn:
          cpu::rnn_backward_row(H, h + at(row, hs), dh_row, carry, dp);
          break;
      }
    }
    if (n_prev > 0 && packed) {
      cpu::gemm_packed(n_prev, d_recurrent + at(layout.row(0, t), GH), GH, packed_w_hh_,
                       h_carry_.data(), H, cell_ == CellType::kGru);
    } else if (n_prev > 0) {
      cpu::sgemm(Trans::kNo, Trans::kNo, n_prev, H, GH, 1.0f,
                 d_recurrent + at(layout.row(0, t), GH), GH, params.w_hh, H,
                 cell_ == CellType::kGru ? 1.0f : 0.0f, h_carry_.data(), H);
    }
  }

  // dW_hh = sum over rows with a previous state of d_recurrent^T h_prev, as one GEMM. When every
  // sequence has the same length, each row's previous state is the row one step away in the
  // packed order, so h itself, shifted by a step, is the GEMM's operand and the first step's rows
  // (no previous state) drop out; otherwise they are gathered, with zeros where sequences start.
  const int first = layout.batch_sizes.front();
  if (first == layout.batch_sizes.back()) {
    const int with_state = rows - first;
    if (with_state > 0) {
      cpu::sgemm(Trans::kYes, Trans::kNo, GH, H, with_state, 1.0f,
                 d_recurrent + (reverse_ ? 0 : at(first, GH)), GH,
                 h + (reverse_ ? at(first, hs) : 0), hs, 1.0f, grads.w_hh, H);
    }
  } else {
    h_previous_.assign(at(rows, H), 0.0f);
    for (int t = 0; t < T; ++t) {
      const int n_prev = rows_with_state(layout, t);
      for (int r = 0; r < n_prev; ++r) {
        const float* from = h + at(layout.row(r, previous_step(t)), hs);
        std::copy(from, from + H, h_previous_.data() + at(layout.row(r, t), H));
      }
    }
    cpu::sgemm(Trans::kYes, Trans::kNo, GH, H, rows, 1.0f, d_recurrent, GH, h_previous_.data(), H,
               1.0f, grads.w_hh, H);
  }
  cpu::sgemm(Trans::kYes, Trans::kNo, GH, input_, rows, 1.0f, d_projection, GH, x, input_, 1.0f,
             grads.w_ih, input_);
  if (cell_ == CellType::kGru) {
    add_column_sums(d_recurrent, rows, GH, grads.b_hh);
    add_column_sums(d_projection, rows, GH, grads.b_ih);
  } else {  // one gradient for both biases (LSTM's summed by its rows already)
    if (cell_ == CellType::kRnn) add_column_sums(d_projection, rows, GH, biases_.data());
    for (int j = 0; j < GH; ++j) {
      grads.b_ih[j] += biases_[static_cast<std::size_t>(j)];
      grads.b_hh[j] += biases_[static_cast<std::size_t>(j)];
    }
  }
  if (dx != nullptr) {
    cpu::sgemm(Trans::kNo, Trans::kNo, rows, input_, GH, 1.0f, d_projection, GH, params.w_ih,
               input_, add_to_dx ? 1.0f : 0.0f, dx, input_);
  }
}

}  // namespace engine
