#include "io/atomic_file.h"

#include <filesystem>
#include <fstream>
#include <stdexcept>

namespace engine::io {

void write_file_atomically(const std::string& path, const std::string& contents) {
  const std::string tmp = path + ".tmp";
  {
    std::ofstream out(tmp, std::ios::binary);
    out << contents;
    out.flush();
    if (!out) {
      std::error_code ignored;
      std::filesystem::remove(tmp, ignored);
      throw std::runtime_error(path + ": cannot write");
    }
  }
  std::filesystem::rename(tmp, path);
}

}  // namespace engine::io
