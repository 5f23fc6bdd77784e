#include "io/tokenizer.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "test_util.h"

namespace engine::io {
namespace {

std::vector<std::string> tokens_of(std::string_view text, std::size_t max_tokens = 0) {
  TokenList list;
  Tokenizer(max_tokens).tokenize(text, list);
  return list.to_strings();
}

using Tokens = std::vector<std::string>;

TEST(Tokenizer, BasicEnglishRules) {
  EXPECT_EQ(tokens_of("Hello, World!"), (Tokens{"hello", ",", "world", "!"}));
  EXPECT_EQ(tokens_of("It's (really) \"quoted\"?"),
            (Tokens{"it", "'", "s", "(", "really", ")", "quoted", "?"}));
  EXPECT_EQ(tokens_of("U.S. e-mail costs $5; ok: yes"),
            (Tokens{"u", ".", "s", ".", "e-mail", "costs", "$5", "ok", "yes"}));
  EXPECT_EQ(tokens_of("line<br />break"), (Tokens{"line", "break"}));
  EXPECT_EQ(tokens_of("   "), Tokens{});
}

TEST(Tokenizer, LowerCasesBeyondAscii) {
  EXPECT_EQ(tokens_of("CAFÉ ÀÉÎ ΑΘΗΝΑ МОСКВА ŁÓDŹ"),
            (Tokens{"café", "àéî", "αθηνα", "москва", "łódź"}));
}

TEST(Tokenizer, MaxTokensTruncatesAndSaysSo) {
  TokenList list;
  Tokenizer(3).tokenize("a b c d e", list);
  EXPECT_EQ(list.to_strings(), (Tokens{"a", "b", "c"}));
  EXPECT_TRUE(list.truncated);
  Tokenizer(3).tokenize("a b c", list);
  EXPECT_FALSE(list.truncated);
}

// The 32-byte vector path against the byte-wise path on random text mixing every byte class
// (words in both cases, long words, whitespace and control bytes, punctuation tokens, ';' ':',
// '"', "<br />", '<', multi-byte letters and spaces), in blocks that take either path.
TEST(Tokenizer, VectorPathMatchesByteWisePath) {
  const std::vector<std::string> pieces = {
      "word",   "Word",   "WORDS",    "a",      "supercalifragilisticexpialidocious",
      " ",      "   ",    "\t",       "\n",     "\r\n",
      "\x01",   "\x7f",   ".",        ",",      "'",
      "(",      ")",      "!",        "?",      ";",
      ":",      "\"",     "<br />",   "<BR />", "<b>",
      "a<b",    "Straße", "\xC2\xA0", "ÉCOLE",  "\xE2\x80\x83",
      "e-mail", "$5",     "u.s.",     "1,000",  "x\"y"};
  std::uint64_t state = 12345;
  const auto next = [&state] {
    state = state * 6364136223846793005ULL + 1442695040888963407ULL;
    return static_cast<std::size_t>(state >> 33);
  };
  for (int trial = 0; trial < 3000; ++trial) {
    std::string text;
    const std::size_t length = next() % 300;
    // A third of the texts use only the pieces the vector path handles itself.
    const std::size_t alphabet = trial % 3 == 0 ? 21 : pieces.size();
    while (text.size() < length) text += pieces[next() % alphabet];
    TokenList fast;
    TokenList reference;
    Tokenizer(0, true).tokenize(text, fast);
    Tokenizer(0, false).tokenize(text, reference);
    ASSERT_EQ(fast.to_strings(), reference.to_strings()) << "text: " << text;
    ASSERT_EQ(fast.bytes, reference.bytes) << "text: " << text;
  }
}

// The same strings through torchtext's regexes (bench/basic_english.py) and through ours.
TEST(Tokenizer, MatchesTorchtextBasicEnglish) {
  const std::vector<std::string> cases = {
      "Wall St. Bears Claw Back Into the Black (Reuters)",
      "Reuters - Short-sellers, Wall Street's dwindling band of ultra-cynics, are seeing green "
      "again.",
      "Oil prices soar to all-time record, posing new menace to US economy (AFP)",
      "\"What?!\" she asked; then: 'No.'",
      "multiple   spaces\tand\ttabs\nand newlines",
      "numbers 3.14, 1,000 and 50% off!!!",
      "<br />tags<br />inside<BR />",
      "Ünïcödé Straße, ÉCOLE; Ελληνικά Кириллица",
      "emoji \xF0\x9F\x98\x80 stays, no-break\xC2\xA0space splits",
      "edge'''cases...,,,((()))",
      "A much longer headline, long enough that the tokenizer's 32-byte blocks run: Stocks Rally "
      "As Oil (Brent) Falls; Investors' Hopes RISE... again?! \"Quoted\" words<br />and more",
      "",
  };
  test::ScratchDir dir;
  const std::string input = dir.file("cases.json");
  test::write_file(input, nlohmann::json(cases).dump());
  const auto result =
      test::run_command("/usr/bin/python3 " ENGINE_SOURCE_DIR "/bench/basic_english.py " + input);
  ASSERT_EQ(result.exit_code, 0) << result.output;
  const auto expected = nlohmann::json::parse(result.output).get<std::vector<Tokens>>();
  ASSERT_EQ(expected.size(), cases.size());
  for (std::size_t i = 0; i < cases.size(); ++i) {
    EXPECT_EQ(tokens_of(cases[i]), expected[i]) << "case: " << cases[i];
  }
}

}  // namespace
}  // namespace engine::io
