// Turns one CSV record of an AG News layout file ("class","title","description") into a label
// and tokens, or into the reason it is bad. Pure and thread-safe, so engine_prep runs it on
// batches of rows in worker threads.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "io/csv_reader.h"
#include "io/text_clean.h"
#include "io/tokenizer.h"

namespace engine::io {

// Why a row is rejected; the names are what --skip-bad-rows prints.
enum class BadRow : int {
  kNone = 0,
  kMalformedCsv,
  kFieldCount,
  kClassNotInteger,
  kClassOutOfRange,
  kInvalidUtf8,
  kEmptyText,
};
inline constexpr int kBadRowKinds = 7;
std::string_view bad_row_name(BadRow reason);

struct ParsedRow {
  std::int64_t line = 0;
  std::int32_t label = -1;  // 0-based class index
  BadRow bad = BadRow::kNone;
  std::string message;  // the detailed reason when bad
  TokenList tokens;
};

class RowParser {
 public:
  // num_classes == 0: any class >= 1 is accepted (the count is inferred later).
  RowParser(std::int64_t num_classes, std::size_t max_tokens)
      : num_classes_(num_classes), tokenizer_(max_tokens) {}
  void parse(const CsvRecord& record, ParsedRow& row);

 private:
  std::int64_t num_classes_;
  Tokenizer tokenizer_;
  TextCleaner cleaner_;
};

}  // namespace engine::io
