// Activations and their derivatives expressed through the activation's output, which is what
// backward passes keep. Templates so tests can run the same formulas in double precision.
#pragma once

#include <math.h>

#include "kernels/math/host_device.h"

namespace engine::math {

ENGINE_HD float exp_of(float x) {
  return expf(x);
}
ENGINE_HD double exp_of(double x) {
  return exp(x);
}
ENGINE_HD float tanh_of(float x) {
  return tanhf(x);
}
ENGINE_HD double tanh_of(double x) {
  return tanh(x);
}

// Split by sign so exp never overflows: for x < 0, e^x / (1 + e^x).
template <typename T>
ENGINE_HD T sigmoid(T x) {
  if (x >= T(0)) return T(1) / (T(1) + exp_of(-x));
  const T e = exp_of(x);
  return e / (T(1) + e);
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
