// Activations and their derivatives expressed through the activation's output, which is what
// backward passes keep. Templates so tests can run the same formulas in double precision.
#pragma once

#include <math.h>
#include <stdint.h>
#include <string.h>

#include "kernels/math/host_device.h"

namespace engine::math {

// exp for float, written so the compiler vectorises the loops that call it: libm's expf and
// tanhf are opaque calls and took a third of a training step. Cody-Waite range reduction to
// r in [-ln2/2, ln2/2], Cephes' degree-6 polynomial (about 1 ulp), then scaling by 2^n through
// the exponent bits. Saturates instead of overflowing. On the GPU the hardware expf is used.
ENGINE_HD float exp_of(float x) {
#if defined(__CUDA_ARCH__)
  return expf(x);
#else
  x = x < -87.3f ? -87.3f : (x > 88.7f ? 88.7f : x);
  // Round x / ln2 to the nearest integer with the 1.5 * 2^23 trick (no rounding instruction).
  const float n = (x * 1.44269504088896341f + 12582912.0f) - 12582912.0f;
  const float r = (x - n * 0.693359375f) + n * 2.12194440e-4f;
  float p = 1.9875691500e-4f;
  p = p * r + 1.3981999507e-3f;
  p = p * r + 8.3334519073e-3f;
  p = p * r + 4.1665795894e-2f;
  p = p * r + 1.6666665459e-1f;
  p = p * r + 5.0000001201e-1f;
  p = p * r * r + r + 1.0f;
  const int32_t bits = (static_cast<int32_t>(n) + 127) << 23;
  float scale;
  memcpy(&scale, &bits, sizeof scale);
  return p * scale;
#endif
}
ENGINE_HD double exp_of(double x) { return exp(x); }

// tanh from exp: 1 - 2 / (e^(2x) + 1), and its Taylor series near 0 where that form cancels.
ENGINE_HD float tanh_of(float x) {
#if defined(__CUDA_ARCH__)
  return tanhf(x);
#else
  const float x2 = x * x;
  const float series = x * (1.0f - x2 * (0.333333333f - x2 * 0.133333333f));
  const float general = 1.0f - 2.0f / (exp_of(2.0f * x) + 1.0f);
  return x2 < 0.0025f ? series : general;
#endif
}
ENGINE_HD double tanh_of(double x) { return tanh(x); }

// 1 / (1 + e^-x); exp_of saturates instead of overflowing (and double's exp gives inf, whose
// reciprocal is 0), so no branch is needed: branches would keep the loops from vectorising.
template <typename T>
ENGINE_HD T sigmoid(T x) {
  return T(1) / (T(1) + exp_of(-x));
}

// d sigmoid / dx, given y = sigmoid(x).
template <typename T>
ENGINE_HD T sigmoid_grad(T y) {
  return y * (T(1) - y);
}

// d tanh / dx, given y = tanh(x).
template <typename T>
ENGINE_HD T tanh_grad(T y) {
  return T(1) - y * y;
}

}  // namespace engine::math
