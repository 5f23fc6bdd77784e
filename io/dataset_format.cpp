#include "io/dataset_format.h"

#include <cstdio>

namespace engine::io {

std::string shard_file_name(const std::string& split, std::size_t index) {
  char name[32];
  std::snprintf(name, sizeof name, "shard-%05zu.h5", index);
  return split + "/" + name;
}

std::string checksum_hex(std::uint64_t value) {
  char hex[17];
  std::snprintf(hex, sizeof hex, "%016llx", static_cast<unsigned long long>(value));
  return hex;
}

void ShardChecksum::add(std::span<const std::int32_t> tokens, std::int32_t label) {
  mix(static_cast<std::uint64_t>(tokens.size()) << 32 | static_cast<std::uint32_t>(label));
  for (const std::int32_t token : tokens) mix(static_cast<std::uint32_t>(token));
}

}  // namespace engine::io
