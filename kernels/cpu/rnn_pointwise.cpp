#include "kernels/cpu/rnn_pointwise.h"

#include <algorithm>

#include "kernels/cpu/avx512.h"
#include "kernels/cpu/rnn_pointwise_avx512.h"
#include "kernels/math/rnn_cells.h"

namespace engine::cpu {

void lstm_forward_row(int H, const float* __restrict p, const float* __restrict u,
                      const float* __restrict c_prev, float* __restrict keep, float* __restrict c,
                      float* __restrict h) {
  for (int j = 0; j < H; ++j) {
    const auto unit =
        math::lstm_forward(p[j] + u[j], p[H + j] + u[H + j], p[2 * H + j] + u[2 * H + j],
                           p[3 * H + j] + u[3 * H + j], c_prev[j]);
    keep[j] = unit.i;
    keep[H + j] = unit.f;
    keep[2 * H + j] = unit.g;
    keep[3 * H + j] = unit.o;
    c[j] = unit.c;
    h[j] = unit.h;
  }
}

void gru_forward_row(int H, const float* __restrict p, const float* __restrict u,
                     const float* __restrict h_prev, float* __restrict keep, float* __restrict h) {
  for (int j = 0; j < H; ++j) {
    const auto unit =
        math::gru_forward(p[j], p[H + j], p[2 * H + j], u[j], u[H + j], u[2 * H + j], h_prev[j]);
    keep[j] = unit.r;
    keep[H + j] = unit.z;
    keep[2 * H + j] = unit.n;
    keep[3 * H + j] = u[2 * H + j];
    h[j] = unit.h;
  }
}

void rnn_forward_row(int H, const float* __restrict p, const float* __restrict u,
                     float* __restrict h) {
  for (int j = 0; j < H; ++j) h[j] = math::rnn_forward(p[j] + u[j]);
}

void lstm_backward_row(int H, const float* __restrict keep, const float* __restrict c,
                       const float* __restrict c_prev, const float* __restrict dh_above,
                       const float* __restrict dh_carry, float* __restrict dc, float* __restrict dp,
                       bool has_previous) {
  const float keep_dc = has_previous ? 1.0f : 0.0f;
  for (int j = 0; j < H; ++j) {
    const auto d = math::lstm_backward(keep[j], keep[H + j], keep[2 * H + j], keep[3 * H + j], c[j],
                                       c_prev[j], dh_above[j] + dh_carry[j], dc[j]);
    dp[j] = d.da_i;
    dp[H + j] = d.da_f;
    dp[2 * H + j] = d.da_g;
    dp[3 * H + j] = d.da_o;
    dc[j] = d.dc_prev * keep_dc;
  }
}

void gru_backward_row(int H, const float* __restrict keep, const float* __restrict h_prev,
                      const float* __restrict dh_above, float* __restrict dh_carry,
                      float* __restrict dp, float* __restrict du, bool has_previous) {
  const float keep_dh = has_previous ? 1.0f : 0.0f;
  for (int j = 0; j < H; ++j) {
    const auto d = math::gru_backward(keep[j], keep[H + j], keep[2 * H + j], keep[3 * H + j],
                                      h_prev[j], dh_above[j] + dh_carry[j]);
    dp[j] = d.dx_r;
    dp[H + j] = d.dx_z;
    dp[2 * H + j] = d.dx_n;
    du[j] = d.du_r;
    du[H + j] = d.du_z;
    du[2 * H + j] = d.du_n;
    dh_carry[j] = d.dh_prev * keep_dh;
  }
}

void rnn_backward_row(int H, const float* __restrict h, const float* __restrict dh_above,
                      const float* __restrict dh_carry, float* __restrict dp) {
  for (int j = 0; j < H; ++j) dp[j] = math::rnn_backward(h[j], dh_above[j] + dh_carry[j]);
}

void lstm_forward_row_in_place(int H, float* gates, const float* u, const float* c_prev, float* c,
                               float* h, float* scratch) {
  if (avx512_available()) {
    avx512::lstm_forward_row_in_place(H, gates, u, c_prev, c, h);
    return;
  }
  std::copy(gates, gates + 4 * H, scratch);
  lstm_forward_row(H, scratch, u, c_prev, gates, c, h);
}

void lstm_backward_row_in_place(int H, float* gates, const float* c, const float* c_prev,
                                const float* dh_above, const float* dh_carry, float* dc,
                                bool has_previous, float* bias_grad, float* scratch) {
  if (avx512_available()) {
    avx512::lstm_backward_row_in_place(H, gates, c, c_prev, dh_above, dh_carry, dc, has_previous,
                                       bias_grad);
    return;
  }
  std::copy(gates, gates + 4 * H, scratch);
  lstm_backward_row(H, scratch, c, c_prev, dh_above, dh_carry, dc, gates, has_previous);
  for (int j = 0; j < 4 * H; ++j) bias_grad[j] += gates[j];
}

}  // namespace engine::cpu
