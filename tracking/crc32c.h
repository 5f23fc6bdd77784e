// CRC-32C (Castagnoli), the checksum of TFRecord framing, and TensorFlow's masked form of it.
#pragma once

#include <cstddef>
#include <cstdint>

namespace engine::tracking {

std::uint32_t crc32c(const void* data, std::size_t size);

// TFRecord stores ((crc >> 15) | (crc << 17)) + 0xa282ead8, so that a CRC of data that holds
// CRCs is not degenerate.
inline std::uint32_t masked_crc32c(const void* data, std::size_t size) {
  const std::uint32_t crc = crc32c(data, size);
  return ((crc >> 15) | (crc << 17)) + 0xa282ead8u;
}

}  // namespace engine::tracking
