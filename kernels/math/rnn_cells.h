// Per-unit forward and backward of the three recurrent cells, in cuDNN/PyTorch conventions:
//   LSTM gates i, f, g, o:  c = f*c_prev + i*g,  h = o*tanh(c)
//   GRU gates r, z, n:      n = tanh(x_n + r*(U_n h_prev + b_hn)),  h = (1-z)*n + z*h_prev
//   RNN:                    h = tanh(x + U h_prev)
// Inputs named a_* / x_* / u_* are pre-activations: x_* = (W x + b_i) rows of the input
// projection, u_* = (U h_prev + b_h) rows of the recurrent product. Backward functions take
// what forward kept (gate outputs, cell state) and return gradients of the pre-activations;
// the GEMMs around them (dU, dW, dh_prev through U) are the caller's.
#pragma once

#include "kernels/math/activations.h"
#include "kernels/math/host_device.h"

namespace engine::math {

template <typename T>
struct LstmUnit {
  T i, f, g, o, c, h;
};

template <typename T>
ENGINE_HD LstmUnit<T> lstm_forward(T a_i, T a_f, T a_g, T a_o, T c_prev) {
  LstmUnit<T> u;
  u.i = sigmoid(a_i);
  u.f = sigmoid(a_f);
  u.g = tanh_of(a_g);
  u.o = sigmoid(a_o);
  u.c = u.f * c_prev + u.i * u.g;
  u.h = u.o * tanh_of(u.c);
  return u;
}

template <typename T>
struct LstmGrads {
  T da_i, da_f, da_g, da_o, dc_prev;
};

// dh: gradient reaching h (from above and from step t+1); dc: gradient reaching c from t+1.
template <typename T>
ENGINE_HD LstmGrads<T> lstm_backward(T i, T f, T g, T o, T c, T c_prev, T dh, T dc) {
  const T tc = tanh_of(c);
  const T dc_total = dc + dh * o * tanh_grad(tc);
  LstmGrads<T> d;
  d.da_o = dh * tc * sigmoid_grad(o);
  d.da_i = dc_total * g * sigmoid_grad(i);
  d.da_f = dc_total * c_prev * sigmoid_grad(f);
  d.da_g = dc_total * i * tanh_grad(g);
  d.dc_prev = dc_total * f;
  return d;
}

template <typename T>
struct GruUnit {
  T r, z, n, h;
};

template <typename T>
ENGINE_HD GruUnit<T> gru_forward(T x_r, T x_z, T x_n, T u_r, T u_z, T u_n, T h_prev) {
  GruUnit<T> u;
  u.r = sigmoid(x_r + u_r);
  u.z = sigmoid(x_z + u_z);
  u.n = tanh_of(x_n + u.r * u_n);
  u.h = (T(1) - u.z) * u.n + u.z * h_prev;
  return u;
}

template <typename T>
struct GruGrads {
  T dx_r, dx_z, dx_n;  // gradients of the input-projection pre-activations
  T du_r, du_z, du_n;  // gradients of the recurrent-product pre-activations
  T dh_prev;           // the direct part (z * dh); the part through U is the caller's GEMM
};

// u_n is the recurrent product of the n gate (U_n h_prev + b_hn), which forward must keep.
template <typename T>
ENGINE_HD GruGrads<T> gru_backward(T r, T z, T n, T u_n, T h_prev, T dh) {
  GruGrads<T> d;
  const T da_n = dh * (T(1) - z) * tanh_grad(n);
  const T da_z = dh * (h_prev - n) * sigmoid_grad(z);
  const T da_r = da_n * u_n * sigmoid_grad(r);
  d.dx_r = da_r;
  d.du_r = da_r;
  d.dx_z = da_z;
  d.du_z = da_z;
  d.dx_n = da_n;
  d.du_n = da_n * r;
  d.dh_prev = dh * z;
  return d;
}

template <typename T>
ENGINE_HD T rnn_forward(T a) {
  return tanh_of(a);
}

template <typename T>
ENGINE_HD T rnn_backward(T h, T dh) {
  return dh * tanh_grad(h);
}

}  // namespace engine::math
