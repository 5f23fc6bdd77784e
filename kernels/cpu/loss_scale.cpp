#include "kernels/cpu/loss_scale.h"

#include "kernels/math/loss_scale.h"

namespace engine::cpu {

GradCheck unscale_check_norm(std::span<float> grads, float inverse_scale) {
  GradCheck check;
  for (float& g : grads) {
    g = math::unscale(g, inverse_scale, check.non_finite);
    check.sum_squares += static_cast<double>(g) * g;
  }
  return check;
}

}  // namespace engine::cpu
