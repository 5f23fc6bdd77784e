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
