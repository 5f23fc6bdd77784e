// IEEE binary16 rounding written once for both sides: float -> half bits with round to nearest
// even (overflow to inf, NaN kept quiet, subnormals exact), and back. The CPU backend uses it to
// emulate fp16 GEMM operands exactly as the GPU stores them (__float2half_rn gives the same
// bits), so mixed-precision runs can be checked on a machine without a GPU.
#pragma once

#include <stdint.h>
#include <string.h>

#include "kernels/math/host_device.h"

namespace engine::math {

ENGINE_HD uint16_t float_to_half_bits(float value) {
  uint32_t x;
  memcpy(&x, &value, sizeof x);
  const uint32_t sign = (x >> 16) & 0x8000u;
  const uint32_t magnitude = x & 0x7fffffffu;
  if (magnitude >= 0x7f800000u)  // inf or NaN
    return static_cast<uint16_t>(sign | 0x7c00u | (magnitude > 0x7f800000u ? 0x200u : 0u));
  if (magnitude >= 0x477ff000u) return static_cast<uint16_t>(sign | 0x7c00u);  // >= 65520: inf
  if (magnitude < 0x38800000u) {  // below 2^-14: a half subnormal (unit 2^-24) or zero
    if (magnitude < 0x33000000u) return static_cast<uint16_t>(sign);  // <= 2^-25 rounds to 0
    const uint32_t exponent = magnitude >> 23;
    const uint32_t mantissa = (magnitude & 0x7fffffu) | 0x800000u;
    const uint32_t shift = 126u - exponent;  // 14 .. 24
    uint32_t half = mantissa >> shift;
    const uint32_t rest = mantissa & ((1u << shift) - 1u);
    const uint32_t midpoint = 1u << (shift - 1u);
    if (rest > midpoint || (rest == midpoint && (half & 1u))) ++half;
    return static_cast<uint16_t>(sign | half);
  }
  uint32_t half = (magnitude - 0x38000000u) >> 13;  // exponent rebiased from 127 to 15
  const uint32_t rest = magnitude & 0x1fffu;
  if (rest > 0x1000u || (rest == 0x1000u && (half & 1u))) ++half;  // a carry rounds up cleanly
  return static_cast<uint16_t>(sign | half);
}

ENGINE_HD float half_bits_to_float(uint16_t half) {
  const uint32_t sign = (static_cast<uint32_t>(half) & 0x8000u) << 16;
  const uint32_t exponent = (half >> 10) & 0x1fu;
  const uint32_t mantissa = half & 0x3ffu;
  if (exponent == 0) {
    const float magnitude = static_cast<float>(mantissa) * 5.9604644775390625e-8f;  // 2^-24
    return sign ? -magnitude : magnitude;
  }
  const uint32_t bits = exponent == 31 ? (sign | 0x7f800000u | (mantissa << 13))
                                       : (sign | ((exponent + 112u) << 23) | (mantissa << 13));
  float value;
  memcpy(&value, &bits, sizeof value);
  return value;
}

// The float nearest to `value` that a half can hold.
ENGINE_HD float round_to_half(float value) {
  return half_bits_to_float(float_to_half_bits(value));
}

}  // namespace engine::math
