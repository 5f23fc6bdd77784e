// Inverted dropout: an element survives with probability 1-p and is scaled by 1/(1-p), so
// evaluation needs no rescaling. The keep decision for element i is a pure function of
// (seed, stream, step, i) through Philox, so backward recomputes the mask instead of storing it.
#pragma once

#include <stdint.h>

#include "kernels/math/host_device.h"
#include "kernels/math/philox.h"

namespace engine::math {

ENGINE_HD float dropout_scale(uint64_t seed, uint32_t stream, uint64_t step, uint64_t index,
                              float p) {
  return philox_uniform(seed, stream, step, index) >= p ? 1.0f / (1.0f - p) : 0.0f;
}

}  // namespace engine::math
