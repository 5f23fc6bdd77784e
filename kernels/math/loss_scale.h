// Dynamic loss scaling for FP16 mixed precision, with PyTorch's GradScaler rules and defaults:
// the loss gradient is multiplied by `scale` before backward; afterwards every gradient is
// multiplied by 1/scale and checked; a step whose gradients hold an inf or NaN is skipped and the
// scale halves, and after `growth_interval` clean steps in a row it doubles. After the allreduce
// every rank holds the same gradients, so every rank reaches the same decision.
#pragma once

#include "kernels/math/host_device.h"

namespace engine::math {

struct LossScaleConfig {
  float init_scale = 65536.0f;  // 2^16
  float growth_factor = 2.0f;
  float backoff_factor = 0.5f;
  int growth_interval = 2000;
};

struct LossScaleState {
  float scale = 65536.0f;
  int clean_steps = 0;  // consecutive steps without inf/NaN since the last change
};

// inf and NaN fail it (x - x is NaN for both); no library call, so it is the same on both sides.
ENGINE_HD bool is_finite(float x) {
  return x - x == 0.0f;
}

// One gradient value, unscaled; `non_finite` is set (never cleared) when it is inf or NaN.
ENGINE_HD float unscale(float g, float inverse_scale, bool& non_finite) {
  const float u = g * inverse_scale;
  if (!is_finite(u)) non_finite = true;
  return u;
}

// After a step's check: the new scale and streak. Returns true when the step must be skipped.
ENGINE_HD bool update_loss_scale(LossScaleState& s, bool found_non_finite,
                                 const LossScaleConfig& c) {
  if (found_non_finite) {
    s.scale *= c.backoff_factor;
    s.clean_steps = 0;
    return true;
  }
  if (++s.clean_steps == c.growth_interval) {
    s.scale *= c.growth_factor;
    s.clean_steps = 0;
  }
  return false;
}

}  // namespace engine::math
