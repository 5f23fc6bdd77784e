// The CPU pass of dynamic loss scaling (kernels/math/loss_scale.h): unscale every gradient,
// report whether any is inf or NaN, and sum the squares of the unscaled values for clipping,
// all in one sweep.
#pragma once

#include <span>

namespace engine::cpu {

struct GradCheck {
  bool non_finite = false;
  double sum_squares = 0;  // of the unscaled gradients (meaningless when non_finite)
};

// grads *= inverse_scale in place.
GradCheck unscale_check_norm(std::span<float> grads, float inverse_scale);

}  // namespace engine::cpu
