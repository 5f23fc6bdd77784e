// AVX-512 versions of the LSTM row loops (kernels/cpu/rnn_pointwise.h), in their own file because
// only this file is built with -mavx512f; entered only where the CPU has AVX-512F. Raw pointers
// and no standard-library templates, for the reason packed_gemm_avx512.h gives.
//
// The formulas are those of kernels/math/rnn_cells.h, with exp evaluated by the same polynomial
// and 1/x by the hardware reciprocal estimate plus one Newton step (a division per gate was the
// loop's largest cost); a test holds them to the shared math within a few ulps.
#pragma once

namespace engine::cpu::avx512 {

void lstm_forward_row_in_place(int H, float* gates, const float* u, const float* c_prev, float* c,
                               float* h);
void lstm_backward_row_in_place(int H, float* gates, const float* c, const float* c_prev,
                                const float* dh_above, const float* dh_carry, float* dc,
                                bool has_previous, float* bias_grad);

}  // namespace engine::cpu::avx512
