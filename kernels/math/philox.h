// Philox4x32-10 (Salmon et al., "Parallel random numbers: as easy as 1, 2, 3", SC'11): a
// counter-based generator, so any element's random number is a pure function of (key,
// counter). Dropout masks and parameter initialisation draw from it, which makes them
// identical on CPU and GPU, independent of thread count, and reproducible after a resume.
#pragma once

#include <stdint.h>

#include "kernels/math/host_device.h"

namespace engine::math {

struct Philox4 {
  uint32_t v[4];
};

ENGINE_HD Philox4 philox4x32(uint32_t c0, uint32_t c1, uint32_t c2, uint32_t c3, uint32_t k0,
                             uint32_t k1) {
  constexpr uint32_t kMul0 = 0xD2511F53u, kMul1 = 0xCD9E8D57u;
  constexpr uint32_t kWeyl0 = 0x9E3779B9u, kWeyl1 = 0xBB67AE85u;
  for (int round = 0; round < 10; ++round) {
    const uint64_t p0 = static_cast<uint64_t>(kMul0) * c0;
    const uint64_t p1 = static_cast<uint64_t>(kMul1) * c2;
    const uint32_t n0 = static_cast<uint32_t>(p1 >> 32) ^ c1 ^ k0;
    const uint32_t n2 = static_cast<uint32_t>(p0 >> 32) ^ c3 ^ k1;
    c1 = static_cast<uint32_t>(p1);
    c3 = static_cast<uint32_t>(p0);
    c0 = n0;
    c2 = n2;
    k0 += kWeyl0;
    k1 += kWeyl1;
  }
  return {{c0, c1, c2, c3}};
}

// Uniform float in [0, 1) from 24 random bits.
ENGINE_HD float uniform_from_bits(uint32_t bits) {
  return static_cast<float>(bits >> 8) * (1.0f / 16777216.0f);
}

// The uniform number for element `index` of stream (`stream`, `step`) under `seed`.
ENGINE_HD float philox_uniform(uint64_t seed, uint32_t stream, uint64_t step, uint64_t index) {
  const Philox4 r =
      philox4x32(static_cast<uint32_t>(index >> 2), static_cast<uint32_t>(index >> 34), stream,
                 static_cast<uint32_t>(step), static_cast<uint32_t>(seed),
                 static_cast<uint32_t>(seed >> 32) ^ static_cast<uint32_t>(step >> 32));
  return uniform_from_bits(r.v[index & 3]);
}

}  // namespace engine::math
