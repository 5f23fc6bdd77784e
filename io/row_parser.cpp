#include "io/row_parser.h"

#include <charconv>

#include "io/utf8.h"

namespace engine::io {

std::string_view bad_row_name(BadRow reason) {
  switch (reason) {
    case BadRow::kNone:
      return "ok";
    case BadRow::kMalformedCsv:
      return "malformed_csv";
    case BadRow::kFieldCount:
      return "wrong_field_count";
    case BadRow::kClassNotInteger:
      return "class_not_integer";
    case BadRow::kClassOutOfRange:
      return "class_out_of_range";
    case BadRow::kInvalidUtf8:
      return "invalid_utf8";
    case BadRow::kEmptyText:
      return "empty_text";
  }
  return "unknown";
}

namespace {

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

}  // namespace

void RowParser::parse(const CsvRecord& record, ParsedRow& row) {
  row.line = record.line;
  row.label = -1;
  row.bad = BadRow::kNone;
  row.message.clear();
  row.tokens.bytes.clear();
  row.tokens.ends.clear();
  const auto reject = [&row](BadRow reason, std::string message) {
    row.bad = reason;
    row.message = std::move(message);
  };

  if (record.num_fields != 3) {
    return reject(BadRow::kFieldCount, "expected 3 fields (class, title, description), found " +
                                           std::to_string(record.num_fields));
  }
  const std::string_view class_field = trim(record.fields[0]);
  std::int64_t class_index = 0;
  const auto [end, ec] =
      std::from_chars(class_field.data(), class_field.data() + class_field.size(), class_index);
  if (class_field.empty() || ec != std::errc() || end != class_field.data() + class_field.size()) {
    return reject(BadRow::kClassNotInteger,
                  "class field '" + std::string(class_field.substr(0, 40)) + "' is not an integer");
  }
  if (class_index < 1 || (num_classes_ > 0 && class_index > num_classes_)) {
    const std::string range = num_classes_ > 0 ? "1.." + std::to_string(num_classes_) : ">= 1";
    return reject(BadRow::kClassOutOfRange,
                  "class " + std::to_string(class_index) + " is outside " + range);
  }
  for (int f = 1; f < 3; ++f) {
    if (!utf8::is_valid(record.fields[f])) {
      return reject(BadRow::kInvalidUtf8,
                    std::string(f == 1 ? "title" : "description") + " is not valid UTF-8");
    }
  }
  // Title and description are cleaned and tokenized one after the other (a field boundary ends
  // a token); fields that need no cleaning go straight to the tokenizer.
  for (int f = 1; f < 3; ++f) {
    const std::string& field = record.fields[static_cast<std::size_t>(f)];
    tokenizer_.append(needs_cleaning(field) ? cleaner_.clean(field) : field, row.tokens);
  }
  tokenizer_.finish(row.tokens);
  if (row.tokens.size() == 0) return reject(BadRow::kEmptyText, "no text left after cleaning");
  row.label = static_cast<std::int32_t>(class_index - 1);
}

}  // namespace engine::io
