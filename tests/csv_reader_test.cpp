#include "io/csv_reader.h"

#include <gtest/gtest.h>

#include "io/data_error.h"
#include "test_util.h"

namespace engine::io {
namespace {

struct Read {
  CsvStatus status;
  std::vector<std::string> fields;
  std::int64_t line;
  std::string error;
};

std::vector<Read> read_all(const std::string& content) {
  test::ScratchDir dir;
  CsvReader reader(test::write_file(dir.file("in.csv"), content));
  std::vector<Read> out;
  CsvRecord record;
  std::string error;
  for (CsvStatus s; (s = reader.next(record, error)) != CsvStatus::kEnd;) {
    out.push_back({s,
                   {record.fields.begin(),
                    record.fields.begin() + static_cast<std::ptrdiff_t>(record.num_fields)},
                   record.line,
                   s == CsvStatus::kMalformed ? error : ""});
  }
  return out;
}

TEST(CsvReader, QuotedFieldsWithEscapesAndCommas) {
  const auto rows = read_all("\"1\",\"a, b\",\"say \"\"hi\"\"\"\n2,plain,x\n");
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_EQ(rows[0].fields, (std::vector<std::string>{"1", "a, b", "say \"hi\""}));
  EXPECT_EQ(rows[1].fields, (std::vector<std::string>{"2", "plain", "x"}));
}

TEST(CsvReader, EmbeddedNewlinesKeepLineNumbers) {
  const auto rows = read_all("\"1\",\"two\nlines\",\"x\"\n\"2\",\"b\",\"c\"\n");
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_EQ(rows[0].fields[1], "two\nlines");
  EXPECT_EQ(rows[0].line, 1);
  EXPECT_EQ(rows[1].line, 3);  // the physical line, as an editor shows it
}

TEST(CsvReader, CrlfLineEndsAndEmptyFields) {
  const auto rows = read_all("1,\"a\",\r\n2,,\"c\"\r\n");
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_EQ(rows[0].fields, (std::vector<std::string>{"1", "a", ""}));
  EXPECT_EQ(rows[1].fields, (std::vector<std::string>{"2", "", "c"}));
  EXPECT_EQ(rows[1].line, 2);
}

TEST(CsvReader, ByteOrderMarkIsSkippedAndUtf8Kept) {
  const auto rows = read_all("\xEF\xBB\xBF\"3\",\"Caf\xC3\xA9\",\"\xE6\x97\xA5\xE6\x9C\xAC\"\n");
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_EQ(rows[0].fields,
            (std::vector<std::string>{"3", "Caf\xC3\xA9", "\xE6\x97\xA5\xE6\x9C\xAC"}));
}

TEST(CsvReader, LastLineWithoutNewlineAndBlankLines) {
  const auto rows = read_all("1,a,b\n\n\n2,c,d");
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_EQ(rows[1].fields, (std::vector<std::string>{"2", "c", "d"}));
  EXPECT_EQ(rows[1].line, 4);
}

TEST(CsvReader, UnterminatedQuoteIsMalformed) {
  const auto rows = read_all("1,a,b\n2,\"never closed,c\n3,d,e\n");
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_EQ(rows[1].status, CsvStatus::kMalformed);
  EXPECT_NE(rows[1].error.find("unterminated"), std::string::npos);
  EXPECT_EQ(rows[1].line, 2);
}

TEST(CsvReader, TextAfterClosingQuoteIsMalformedAndReaderResyncs) {
  const auto rows = read_all("1,\"a\"x,b\n2,c,d\n");
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_EQ(rows[0].status, CsvStatus::kMalformed);
  EXPECT_NE(rows[0].error.find("after closing quote"), std::string::npos);
  EXPECT_EQ(rows[1].status, CsvStatus::kRecord);
  EXPECT_EQ(rows[1].fields, (std::vector<std::string>{"2", "c", "d"}));
}

TEST(CsvReader, QuoteInsideUnquotedFieldIsMalformed) {
  const auto rows = read_all("1,a\"b,c\n2,c,d\n");
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_EQ(rows[0].status, CsvStatus::kMalformed);
  EXPECT_EQ(rows[1].status, CsvStatus::kRecord);
}

TEST(CsvReader, FieldsLargerThanTheBuffer) {
  const std::string big(3 << 20, 'x');
  const auto rows = read_all("1,\"" + big + "\",\"y\"\n2,a,b\n");
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_EQ(rows[0].fields[1].size(), big.size());
  EXPECT_EQ(rows[1].fields[0], "2");
}

TEST(CsvReader, MissingFileNamesThePath) {
  try {
    CsvReader reader("/nonexistent/dir/file.csv");
    FAIL() << "expected DataError";
  } catch (const DataError& e) {
    EXPECT_NE(std::string(e.what()).find("/nonexistent/dir/file.csv"), std::string::npos);
  }
}

}  // namespace
}  // namespace engine::io
