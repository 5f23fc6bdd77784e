// Softmax cross-entropy for one row of K logits, forward and backward in one pass, with
// optional label smoothing (target = (1-eps) one-hot + eps/K) and a per-row weight (class
// weights). Returns weight * loss and writes dlogits = scale * weight * (softmax - target), so
// the caller folds the batch mean (scale = 1/N) or a loss scale in without another pass.
#pragma once

#include "kernels/math/activations.h"
#include "kernels/math/host_device.h"

namespace engine::math {

template <typename T>
ENGINE_HD T log_of(T x) {
  return log(x);
}
ENGINE_HD float log_of(float x) {
  return logf(x);
}

template <typename T>
ENGINE_HD T softmax_xent_row(const T* logits, int classes, int label, T smoothing, T weight,
                             T scale, T* dlogits) {
  T max_logit = logits[0];
  for (int k = 1; k < classes; ++k) max_logit = logits[k] > max_logit ? logits[k] : max_logit;
  T sum = T(0);
  for (int k = 0; k < classes; ++k) sum += exp_of(logits[k] - max_logit);
  const T log_sum = log_of(sum);
  const T off_target = smoothing / T(classes);
  T loss = T(0);
  for (int k = 0; k < classes; ++k) {
    const T log_p = logits[k] - max_logit - log_sum;
    const T target = (k == label ? T(1) - smoothing : T(0)) + off_target;
    loss -= target * log_p;
    if (dlogits != nullptr) dlogits[k] = scale * weight * (exp_of(log_p) - target);
  }
  return weight * loss;
}

}  // namespace engine::math
