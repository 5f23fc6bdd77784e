// Streaming RFC 4180 reader: one record at a time from a file of any size, with the physical
// line each record starts on (fields may hold newlines, so records and lines differ).
// Accepts CRLF or LF line ends and a UTF-8 byte-order mark at the start of the file.
// A malformed record is reported and skipped up to the next record boundary, so callers can
// choose between stopping and counting bad rows.
#pragma once

#include <cstdint>
#include <cstdio>
#include <memory>
#include <string>
#include <vector>

namespace engine::io {

struct CsvRecord {
  std::vector<std::string> fields;
  std::int64_t line = 0;  // 1-based physical line where the record starts
  std::size_t num_fields = 0;
};

enum class CsvStatus { kRecord, kMalformed, kEnd };

class CsvReader {
 public:
  explicit CsvReader(const std::string& path);
  ~CsvReader();
  CsvReader(const CsvReader&) = delete;
  CsvReader& operator=(const CsvReader&) = delete;

  // Reads the next record into `record` (field strings are reused across calls to avoid
  // allocations). On kMalformed, `error` says why and the reader has moved past the record.
  CsvStatus next(CsvRecord& record, std::string& error);

  const std::string& path() const { return path_; }
  std::uint64_t bytes_read() const { return bytes_consumed_; }

 private:
  int peek();
  int get();
  bool refill();
  void skip_to_record_end();
  bool append_quoted(std::string& field);  // false at end of file

  std::string path_;
  std::FILE* file_ = nullptr;
  std::vector<char> buffer_;
  std::size_t pos_ = 0;
  std::size_t end_ = 0;
  std::int64_t line_ = 1;
  std::uint64_t bytes_consumed_ = 0;
};

}  // namespace engine::io
