// CPU loop drivers for the recurrent cells' pointwise math (kernels/math/rnn_cells.h), one
// sequence row of H units at a time. Separate functions with restrict-qualified pointers, so the
// compiler can vectorise them (the same loops inline in the layer did not vectorise).
// Gate blocks are laid out as the parameters are: [gate 0: H][gate 1: H]...
#pragma once

namespace engine::cpu {

// p: input projection row, u: recurrent product row (G*H each; between them both biases);
// c_prev / h_prev: the previous state (zeros at a sequence's first step).
// keep: what backward needs (LSTM i,f,g,o; GRU r,z,n,u_n: 4*H).
void lstm_forward_row(int H, const float* p, const float* u, const float* c_prev, float* keep,
                      float* c, float* h);
void gru_forward_row(int H, const float* p, const float* u, const float* h_prev, float* keep,
                     float* h);
void rnn_forward_row(int H, const float* p, const float* u, float* h);

// dh: gradient reaching h (from above plus from the next step: dh_above + dh_carry).
// LSTM: dc (in: from the next step; out: to the previous one, zero when has_previous is false);
// dp gets the pre-activation gradients (shared by the projection and the recurrent product).
void lstm_backward_row(int H, const float* keep, const float* c, const float* c_prev,
                       const float* dh_above, const float* dh_carry, float* dc, float* dp,
                       bool has_previous);
// GRU: dp / du get the projection's and the recurrent product's pre-activation gradients;
// dh_carry is replaced by the direct part of dh_prev (z * dh), or zero without a previous step.
void gru_backward_row(int H, const float* keep, const float* h_prev, const float* dh_above,
                      float* dh_carry, float* dp, float* du, bool has_previous);
void rnn_backward_row(int H, const float* h, const float* dh_above, const float* dh_carry,
                      float* dp);

// The LSTM rows in place, as the recurrent layer runs them: forward's gates row holds the input
// projection (with both biases) on entry and the kept gates i,f,g,o on return; backward turns
// the kept gates into their pre-activation gradients and adds those to bias_grad (4*H: the bias
// gradient summed as the rows go by rather than in a pass over all of them afterwards).
// AVX-512 where the CPU has it (kernels/cpu/rnn_pointwise_avx512.h); otherwise the row is copied
// to scratch (4*H floats) and the functions above run.
void lstm_forward_row_in_place(int H, float* gates, const float* u, const float* c_prev, float* c,
                               float* h, float* scratch);
void lstm_backward_row_in_place(int H, float* gates, const float* c, const float* c_prev,
                                const float* dh_above, const float* dh_carry, float* dc,
                                bool has_previous, float* bias_grad, float* scratch);

}  // namespace engine::cpu
