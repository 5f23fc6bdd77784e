#include "io/token_spool.h"

#include <cerrno>
#include <cstring>

#include "io/data_error.h"

namespace engine::io {

namespace {
constexpr std::size_t kStreamBuffer = 1 << 20;

std::FILE* open_or_throw(const std::string& path, const char* mode) {
  std::FILE* file = std::fopen(path.c_str(), mode);
  if (file == nullptr) throw DataError(path + ": cannot open spool: " + std::strerror(errno));
  std::setvbuf(file, nullptr, _IOFBF, kStreamBuffer);
  return file;
}
}  // namespace

SpoolWriter::SpoolWriter(const std::string& path) : path_(path), file_(open_or_throw(path, "wb")) {}

SpoolWriter::~SpoolWriter() {
  if (file_ != nullptr) std::fclose(file_);
}

void SpoolWriter::write(const void* data, std::size_t bytes) {
  if (std::fwrite(data, 1, bytes, file_) != bytes) {
    throw DataError(path_ + ": cannot write spool (disk full?): " + std::strerror(errno));
  }
}

void SpoolWriter::add(std::int32_t label, std::span<const std::int32_t> ids) {
  const std::int32_t header[2] = {label, static_cast<std::int32_t>(ids.size())};
  write(header, sizeof header);
  write(ids.data(), ids.size_bytes());
  ++records_;
  tokens_ += static_cast<std::int64_t>(ids.size());
}

void SpoolWriter::close() {
  if (file_ == nullptr) return;
  const int status = std::fclose(file_);
  file_ = nullptr;
  if (status != 0) throw DataError(path_ + ": cannot close spool: " + std::strerror(errno));
}

SpoolReader::SpoolReader(const std::string& path) : path_(path), file_(open_or_throw(path, "rb")) {}

SpoolReader::~SpoolReader() {
  if (file_ != nullptr) std::fclose(file_);
}

bool SpoolReader::next(std::int32_t& label, std::vector<std::int32_t>& ids) {
  std::int32_t header[2];
  const std::size_t got = std::fread(header, 1, sizeof header, file_);
  if (got == 0 && std::feof(file_)) return false;
  if (got != sizeof header || header[1] < 0) throw DataError(path_ + ": truncated spool");
  label = header[0];
  ids.resize(static_cast<std::size_t>(header[1]));
  if (std::fread(ids.data(), sizeof(std::int32_t), ids.size(), file_) != ids.size()) {
    throw DataError(path_ + ": truncated spool");
  }
  return true;
}

}  // namespace engine::io
