// The CPU pass of dynamic loss scaling (kernels/math/loss_scale.h): unscale every gradient and
// report whether any is inf or NaN.
#pragma once

#include <span>

namespace engine::cpu {

// grads *= inverse_scale in place; true when a value is not finite.
bool unscale_and_check(std::span<float> grads, float inverse_scale);

}  // namespace engine::cpu
