// Errors about user data: every message names where the problem is (file, line, field) so the
// user can fix the input. Programs catch these at the top, print them and exit non-zero.
#pragma once

#include <cstdint>
#include <stdexcept>
#include <string>

namespace engine::io {

class DataError : public std::runtime_error {
 public:
  explicit DataError(const std::string& message) : std::runtime_error(message) {}
};

// "FILE:LINE: REASON", the form compilers use, so editors can jump to it.
inline std::string located(const std::string& file, std::int64_t line, const std::string& reason) {
  return file + ":" + std::to_string(line) + ": " + reason;
}

}  // namespace engine::io
