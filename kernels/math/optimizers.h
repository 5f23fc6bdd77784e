// Per-parameter optimizer updates, applied element by element over the flat parameter,
// gradient and state arenas (same offsets everywhere).
//   SGD:   buf = momentum*buf + g (+ wd*p);  p -= lr * (nesterov ? g + momentum*buf : buf)
//   Adam:  g += wd*p (L2, coupled);  AdamW: p -= lr*wd*p (decoupled);  then
//          m = b1 m + (1-b1) g;  v = b2 v + (1-b2) g^2;  p -= lr * m_hat / (sqrt(v_hat) + eps)
// The formulas are PyTorch's (torch.optim.SGD / Adam / AdamW), so runs can be compared.
#pragma once

#include <math.h>

#include "kernels/math/host_device.h"

namespace engine::math {

struct AdamStep {
  float lr;
  float beta1;
  float beta2;
  float eps;
  float weight_decay;
  bool decoupled;          // AdamW
  float bias_correction1;  // 1 - beta1^t
  float bias_correction2;  // 1 - beta2^t
};

ENGINE_HD void adam_update(float& p, float g, float& m, float& v, const AdamStep& s) {
  if (s.decoupled) {
    p -= s.lr * s.weight_decay * p;
  } else {
    g += s.weight_decay * p;
  }
  m = s.beta1 * m + (1.0f - s.beta1) * g;
  v = s.beta2 * v + (1.0f - s.beta2) * g * g;
  const float denom = sqrtf(v) / sqrtf(s.bias_correction2) + s.eps;
  p -= (s.lr / s.bias_correction1) * m / denom;
}

struct SgdStep {
  float lr;
  float momentum;
  float weight_decay;
  bool nesterov;
  bool first_step;  // PyTorch starts the momentum buffer at the first gradient
};

ENGINE_HD void sgd_update(float& p, float g, float& buffer, const SgdStep& s) {
  g += s.weight_decay * p;
  if (s.momentum != 0.0f) {
    buffer = s.first_step ? g : s.momentum * buffer + g;
    g = s.nesterov ? g + s.momentum * buffer : buffer;
  }
  p -= s.lr * g;
}

}  // namespace engine::math
