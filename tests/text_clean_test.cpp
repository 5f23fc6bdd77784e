#include "io/text_clean.h"

#include <gtest/gtest.h>

#include "io/row_parser.h"
#include "io/utf8.h"

namespace engine::io {
namespace {

TEST(CleanText, DecodesEntitiesAndTheirBrokenAgNewsForms) {
  EXPECT_EQ(clean_text("Wall St. &amp; Main"), "Wall St. & Main");
  EXPECT_EQ(clean_text("It#39;s a #36;5 deal"), "It's a $5 deal");
  EXPECT_EQ(clean_text("quot;Hello quot; he said"), "\"Hello \" he said");
  EXPECT_EQ(clean_text("caf&#233; and &#x27;x&#x27;"), "caf\xC3\xA9 and 'x'");
  EXPECT_EQ(clean_text("a &mdash; b"), "a \xE2\x80\x94 b");
}

TEST(CleanText, BrokenNamedFormNeedsAWordBoundary) {
  // "aquot;" is not an entity that lost its '&'; neither is "#39" without ';'.
  EXPECT_EQ(clean_text("aquot; #39 x"), "aquot; #39 x");
}

TEST(CleanText, EscapedTagsAreDecodedThenRemoved) {
  EXPECT_EQ(clean_text("&lt;b&gt;Bold&lt;/b&gt; news"), "Bold news");
  EXPECT_EQ(clean_text("x lt; y"), "x < y");
  EXPECT_EQ(clean_text("see <a href=\"http://x\">here</a>."), "see here .");
  EXPECT_EQ(clean_text("&amp;lt;i&amp;gt;double&amp;lt;/i&amp;gt;"), "double");
  EXPECT_EQ(clean_text("a < b and c > d"), "a < b and c > d");  // comparisons are not tags
}

TEST(CleanText, BackslashDebrisBecomesSpace) {
  EXPECT_EQ(clean_text("dwindling\\band of ultra-cynics"), "dwindling band of ultra-cynics");
  EXPECT_EQ(clean_text("end.\\\\Next"), "end. Next");
  EXPECT_EQ(clean_text("one\\n two\\t"), "one two");
  EXPECT_EQ(clean_text("ultra\\nice"), "ultra nice");
}

TEST(CleanText, WhitespaceAndControlCharactersCollapse) {
  EXPECT_EQ(clean_text("  a\t\tb \n c\x01"
                       "d  "),
            "a b c d");
  EXPECT_EQ(clean_text("a\xC2\xA0"
                       "b"),
            "a b");  // no-break space
  EXPECT_EQ(clean_text(""), "");
  EXPECT_EQ(clean_text(" \t "), "");
}

// The tokenizer's input skips rule 4 (whitespace): on text full of quirks, whitespace, control
// bytes and "<br />" variants, the tokens must be those of the fully cleaned text.
TEST(CleanText, SkippingWhitespaceRuleKeepsTheTokens) {
  const std::vector<std::string> pieces = {"word",        " ",
                                           "\t\t",        "\n",
                                           "\x01",        "&amp;",
                                           "&lt;b&gt;",   "&lt;br /&gt;",
                                           "<br />",      "<br  />",
                                           "<br\t/>",     "<BR/>",
                                           "quot;",       "#39;",
                                           "&#x27;",      "&nbsp;",
                                           "\xC2\xA0",    "\\n",
                                           "\\\\",        "\\",
                                           "<",           ">",
                                           ";",           "a",
                                           "Caf\xC3\xA9", "&amp;lt;i&amp;gt;"};
  std::uint64_t state = 99;
  const auto next = [&state] {
    state = state * 6364136223846793005ULL + 1442695040888963407ULL;
    return static_cast<std::size_t>(state >> 33);
  };
  const Tokenizer tokenizer;
  TextCleaner cleaner;
  for (int trial = 0; trial < 2000; ++trial) {
    std::string raw;
    for (std::size_t k = next() % 40; k > 0; --k) raw += pieces[next() % pieces.size()];
    TokenList expected;
    TokenList got;
    tokenizer.tokenize(clean_text(raw), expected);
    tokenizer.tokenize(cleaner.clean(raw), got);
    ASSERT_EQ(got.to_strings(), expected.to_strings()) << "raw: " << raw;
  }
}

// The scans run 32, then 8, then 1 byte at a time: a trigger or a bad byte is found wherever it
// sits in a long text.
TEST(CleanText, NeedsCleaningFindsATriggerAtAnyPosition) {
  const std::string plain(100, 'a');
  EXPECT_FALSE(needs_cleaning(plain));
  EXPECT_FALSE(needs_cleaning(plain + "&amp #39 quot"));
  for (const char trigger : {';', '\\', '<'}) {
    for (std::size_t at = 0; at < plain.size(); ++at) {
      std::string text = plain;
      text[at] = trigger;
      ASSERT_TRUE(needs_cleaning(text)) << "trigger " << trigger << " at " << at;
    }
  }
}

TEST(Utf8, ValidityIsCheckedAtAnyPosition) {
  const std::string plain(100, 'a');
  EXPECT_TRUE(utf8::is_valid(plain));
  for (std::size_t at = 0; at + 4 < plain.size(); ++at) {
    const auto with = [&](std::string_view piece) {
      std::string text = plain;
      text.replace(at, piece.size(), piece);
      return utf8::is_valid(text);
    };
    ASSERT_TRUE(with("\xC3\xA9")) << at;
    ASSERT_TRUE(with("\xF0\x9F\x98\x80")) << at;
    ASSERT_FALSE(with("\xC3")) << at;          // a lead byte without its continuation
    ASSERT_FALSE(with("\xED\xA0\x80")) << at;  // a surrogate
    ASSERT_FALSE(with("\xC0\xAF")) << at;      // overlong
    ASSERT_FALSE(with("\xFF")) << at;
  }
}

// A row's text is its cleaned title then its cleaned description; the field boundary ends a
// token, and either field may be empty.
TEST(RowParser, CleansAndTokenizesTitleThenDescription) {
  RowParser parser(4, 0);
  ParsedRow row;
  const auto tokens_of = [&](std::string title, std::string description) {
    CsvRecord record;
    record.fields = {"2", std::move(title), std::move(description)};
    record.num_fields = 3;
    parser.parse(record, row);
    EXPECT_EQ(row.bad, BadRow::kNone) << row.message;
    EXPECT_EQ(row.label, 1);
    return row.tokens.to_strings();
  };
  using Tokens = std::vector<std::string>;
  EXPECT_EQ(tokens_of(" Title", "Body &amp; more"), (Tokens{"title", "body", "&", "more"}));
  EXPECT_EQ(tokens_of("glued", "words"), (Tokens{"glued", "words"}));
  EXPECT_EQ(tokens_of("", "only body"), (Tokens{"only", "body"}));
  EXPECT_EQ(tokens_of("only#39;s title", "  "), (Tokens{"only", "'", "s", "title"}));
}

}  // namespace
}  // namespace engine::io
