// Whole-file writes that never leave a half-written file behind: the text goes to PATH.tmp,
// which is renamed over PATH only once it is complete.
#pragma once

#include <string>

namespace engine::io {

// Throws std::runtime_error naming the path when it cannot be written.
void write_file_atomically(const std::string& path, const std::string& contents);

}  // namespace engine::io
