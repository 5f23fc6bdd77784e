// TensorFloat-32 operands held in floats: the nearest value with 10 explicit mantissa bits
// (round to nearest even; fp32's exponent range, so only the largest values round up to inf;
// inf and NaN kept). The CPU backend rounds GEMM operands with it to emulate --precision tf32.
// On a GPU, cuBLAS and cuDNN feed the tensor cores themselves and their treatment of the 13
// dropped bits is theirs (nearest or truncation), so the emulation is close to a GPU run, not
// bit-exact like the fp16 one.
#pragma once

#include <stdint.h>
#include <string.h>

#include "kernels/math/host_device.h"

namespace engine::math {

ENGINE_HD float round_to_tf32(float value) {
  uint32_t bits;
  memcpy(&bits, &value, sizeof bits);
  if ((bits & 0x7f800000u) == 0x7f800000u) return value;  // inf or NaN
  bits += 0xfffu + ((bits >> 13) & 1u);  // a carry out of the mantissa raises the exponent
  bits &= 0xffffe000u;
  float rounded;
  memcpy(&rounded, &bits, sizeof rounded);
  return rounded;
}

}  // namespace engine::math
