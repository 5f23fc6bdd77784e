// A temporary binary stream of (label, token ids) records: engine_prep's first pass writes
// each split here with provisional ids while it counts words, and the second pass reads it back
// to write shards with final ids, so the CSV is parsed once and never held in memory.
// Record layout (native endianness, never leaves the machine): int32 label, int32 n, n x int32.
#pragma once

#include <cstdint>
#include <cstdio>
#include <span>
#include <string>
#include <vector>

namespace engine::io {

class SpoolWriter {
 public:
  explicit SpoolWriter(const std::string& path);
  ~SpoolWriter();
  SpoolWriter(const SpoolWriter&) = delete;
  SpoolWriter& operator=(const SpoolWriter&) = delete;
  void add(std::int32_t label, std::span<const std::int32_t> ids);
  void close();
  std::int64_t records() const { return records_; }
  std::int64_t tokens() const { return tokens_; }

 private:
  void write(const void* data, std::size_t bytes);
  std::string path_;
  std::FILE* file_ = nullptr;
  std::int64_t records_ = 0;
  std::int64_t tokens_ = 0;
};

class SpoolReader {
 public:
  explicit SpoolReader(const std::string& path);
  ~SpoolReader();
  SpoolReader(const SpoolReader&) = delete;
  SpoolReader& operator=(const SpoolReader&) = delete;
  // False at the end of the spool.
  bool next(std::int32_t& label, std::vector<std::int32_t>& ids);

 private:
  std::string path_;
  std::FILE* file_ = nullptr;
};

}  // namespace engine::io
