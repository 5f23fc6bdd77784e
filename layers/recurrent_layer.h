// One direction of one recurrent layer (RNN tanh, LSTM or GRU) over a packed batch, on the CPU.
//
// Forward: the input projection of all steps is one GEMM (x W_ih^T + b_ih, and b_hh too for LSTM
// and RNN); then per step one GEMM of the live rows' previous state with W_hh (packed once per
// pass for all steps, where the CPU has AVX-512: kernels/cpu/packed_gemm.h) and one fused
// pointwise pass (kernels/math/rnn_cells.h). Backward runs the steps in reverse with the same
// pointwise math and one GEMM per step for the state gradient, then forms dW_ih, dW_hh, the biases
// and dx with single GEMMs over all steps.
//
// Parameter layout is cuDNN's and PyTorch's (W_ih [G*H x I], W_hh [G*H x H], b_ih, b_hh [G*H]),
// gates LSTM i,f,g,o and GRU r,z,n, so a PyTorch state_dict maps one matrix at a time.
// backward() ACCUMULATES parameter gradients (+=) and OVERWRITES the input gradient (=) unless
// told to add to it. It consumes what forward kept (LSTM's gates become their gradients), so
// each backward needs its own forward.
// A reverse layer runs each sequence from its last valid step to its first.
#pragma once

#include <vector>

#include "kernels/cpu/packed_gemm.h"
#include "layers/packed_sequence.h"

namespace engine {

enum class CellType { kRnn, kLstm, kGru };

int gate_count(CellType cell);

struct RecurrentParams {
  const float* w_ih;
  const float* w_hh;
  const float* b_ih;
  const float* b_hh;
};

struct RecurrentGrads {
  float* w_ih;
  float* w_hh;
  float* b_ih;
  float* b_hh;
};

class RecurrentLayer {
 public:
  RecurrentLayer(CellType cell, int input_size, int hidden_size, bool reverse);

  // x: packed [rows x input]; h: packed outputs, rows of h_stride floats (>= hidden: a
  // bidirectional stack writes each direction straight into its joined rows). Keeps what backward
  // needs.
  void forward(const PackedLayout& layout, const float* x, const RecurrentParams& params, float* h,
               int h_stride);
  // x and h as given to / produced by the last forward (h at its stride); dh: d loss / d h (rows of
  // dh_stride floats, so a bidirectional stack passes its joined gradient with no copy). dx is
  // overwritten, or added to with add_to_dx (a bidirectional layer's second direction); it may
  // be null when the input needs no gradient (the embedding's output does, the test input not).
  void backward(const PackedLayout& layout, const float* x, const float* h, const float* dh,
                int dh_stride, const RecurrentParams& params, const RecurrentGrads& grads,
                float* dx, bool add_to_dx);

 private:
  // The step whose state step t continues from, and how many of t's rows have one.
  int previous_step(int t) const { return reverse_ ? t + 1 : t - 1; }
  int rows_with_state(const PackedLayout& layout, int t) const;

  CellType cell_;
  int input_;
  int hidden_;
  int gates_;
  bool reverse_;
  int h_stride_ = 0;  // the last forward's output row stride
  // Saved by forward, per packed row: GRU r,z,n,u_n (4H); LSTM c (H), and its gates i,f,g,o
  // (4H) in projection_.
  std::vector<float> saved_;
  std::vector<float> cell_state_;
  // Scratch reused across calls.
  std::vector<float> projection_;   // [rows x G*H]: x W_ih^T + b_ih (+ b_hh), then its gradient
  std::vector<float> row_scratch_;  // [G*H]: one row of projection_ while it is overwritten
  std::vector<float> recurrent_;    // [batch x G*H]: h_prev W_hh^T for one step (GRU: + b_hh)
  std::vector<float> d_recurrent_;  // GRU only: [rows x G*H] gradient of the recurrent product
  std::vector<float> h_carry_;      // [batch x H] gradient reaching h_prev
  std::vector<float> c_carry_;      // [batch x H] LSTM: gradient reaching c_prev
  std::vector<float> h_previous_;   // [rows x H] each row's previous state (variable lengths)
  std::vector<float> zeros_;        // [H]: the state before a sequence's first step
  // [G*H]: the biases laid down under the projection (forward), their gradient (backward).
  std::vector<float> biases_;
  cpu::PackedB packed_w_hh_;  // W_hh^T (forward) or W_hh (backward) for the step GEMMs
};

}  // namespace engine
