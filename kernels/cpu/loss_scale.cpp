#include "kernels/cpu/loss_scale.h"

#include "kernels/math/loss_scale.h"

namespace engine::cpu {

bool unscale_and_check(std::span<float> grads, float inverse_scale) {
  bool non_finite = false;
  for (float& g : grads) g = math::unscale(g, inverse_scale, non_finite);
  return non_finite;
}

}  // namespace engine::cpu
