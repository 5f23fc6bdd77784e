#include "io/csv_reader.h"

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "io/data_error.h"

namespace engine::io {

namespace {
constexpr std::size_t kBufferBytes = 1 << 20;
}

CsvReader::CsvReader(const std::string& path) : path_(path), buffer_(kBufferBytes) {
  file_ = std::fopen(path.c_str(), "rb");
  if (file_ == nullptr) {
    throw DataError(path + ": cannot open: " + std::strerror(errno));
  }
  // A UTF-8 byte-order mark (as spreadsheet exports write) is not part of the first field.
  if (peek() == 0xEF) {
    refill();
    if (end_ - pos_ >= 3 && static_cast<unsigned char>(buffer_[pos_ + 1]) == 0xBB &&
        static_cast<unsigned char>(buffer_[pos_ + 2]) == 0xBF) {
      pos_ += 3;
      bytes_consumed_ += 3;
    }
  }
}

CsvReader::~CsvReader() {
  if (file_ != nullptr) std::fclose(file_);
}

bool CsvReader::refill() {
  // Keep unread bytes (at most a few) at the front so a 3-byte look-ahead always fits.
  const std::size_t left = end_ - pos_;
  std::memmove(buffer_.data(), buffer_.data() + pos_, left);
  pos_ = 0;
  end_ = left;
  const std::size_t got = std::fread(buffer_.data() + end_, 1, buffer_.size() - end_, file_);
  if (got == 0 && std::ferror(file_)) {
    throw DataError(path_ + ": read error: " + std::strerror(errno));
  }
  end_ += got;
  return got > 0;
}

int CsvReader::peek() {
  if (pos_ == end_ && !refill()) return EOF;
  return static_cast<unsigned char>(buffer_[pos_]);
}

int CsvReader::get() {
  if (pos_ == end_ && !refill()) return EOF;
  ++bytes_consumed_;
  const int c = static_cast<unsigned char>(buffer_[pos_++]);
  if (c == '\n') ++line_;
  return c;
}

bool CsvReader::append_quoted(std::string& field) {
  // Bulk copy up to the next quote; newlines inside the field still count as lines.
  while (true) {
    if (pos_ == end_ && !refill()) return false;
    const char* begin = buffer_.data() + pos_;
    const auto* quote = static_cast<const char*>(std::memchr(begin, '"', end_ - pos_));
    const std::size_t span = quote ? static_cast<std::size_t>(quote - begin) : end_ - pos_;
    field.append(begin, span);
    line_ += std::count(begin, begin + span, '\n');
    pos_ += span;
    bytes_consumed_ += span;
    if (quote == nullptr) continue;
    get();  // the quote
    if (peek() != '"') return true;
    get();
    field.push_back('"');
  }
}

void CsvReader::skip_to_record_end() {
  // Resynchronise at the next line end outside quotes, as far as we can tell.
  for (int c = get(); c != EOF && c != '\n'; c = get()) {
  }
}

CsvStatus CsvReader::next(CsvRecord& record, std::string& error) {
  record.num_fields = 0;
  int c = peek();
  // Blank lines between records carry no data; skip them.
  while (c == '\n' || c == '\r') {
    get();
    c = peek();
  }
  if (c == EOF) return CsvStatus::kEnd;
  record.line = line_;

  while (true) {
    if (record.fields.size() <= record.num_fields) record.fields.emplace_back();
    std::string& field = record.fields[record.num_fields++];
    field.clear();
    c = get();
    if (c == '"') {
      // Quoted field: "" is a quote, anything else (newlines too) is literal.
      if (!append_quoted(field)) {
        error = "unterminated quoted field (opened on line " + std::to_string(record.line) + ")";
        return CsvStatus::kMalformed;
      }
      c = get();
      if (c == '\r' && peek() == '\n') c = get();
      if (c != ',' && c != '\n' && c != EOF) {
        error = "unexpected character after closing quote of field " +
                std::to_string(record.num_fields);
        if (c != '\n') skip_to_record_end();
        return CsvStatus::kMalformed;
      }
    } else {
      while (c != ',' && c != '\n' && c != EOF) {
        if (c == '\r' && peek() == '\n') {
          c = get();
          break;
        }
        if (c == '"') {
          error = "quote inside unquoted field " + std::to_string(record.num_fields);
          skip_to_record_end();
          return CsvStatus::kMalformed;
        }
        field.push_back(static_cast<char>(c));
        c = get();
      }
    }
    if (c != ',') return CsvStatus::kRecord;
  }
}

}  // namespace engine::io
