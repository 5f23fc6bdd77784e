// Word-level tokenizer with the rules of torchtext's `basic_english`, the reference users know:
//   lower-case; '"' is dropped; "'" . , ( ) ! ? become tokens of their own; ';' ':' and "<br />"
//   become spaces; the text is split on whitespace. Other punctuation stays inside words
//   ("u.s" is split at '.', "e-mail" and "$5" stay whole), as in torchtext.
// Where we differ: lower-casing covers ASCII, Latin-1, Latin Extended-A, Greek and Cyrillic
// (Python's str.lower() covers all scripts and maps U+0130 to two code points); "<br />"
// is matched before '"' is dropped (torchtext would also match "<br "/>"); and ASCII control
// characters separate tokens like whitespace (torchtext keeps them inside words). Parity with
// torchtext's regexes is tested in tests/tokenizer_test.cpp through Python.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace engine::io {

// Tokens stored back to back: token i is bytes[ends[i-1], ends[i]). After Tokenizer::finish,
// kPadding zero bytes follow the last token, so a word can be read in 8-byte loads.
struct TokenList {
  static constexpr std::size_t kPadding = 16;
  std::string bytes;
  std::vector<std::uint32_t> ends;
  bool truncated = false;  // tokens past the limit were dropped

  std::size_t size() const { return ends.size(); }
  std::string_view operator[](std::size_t i) const {
    const std::uint32_t begin = i == 0 ? 0 : ends[i - 1];
    return {bytes.data() + begin, ends[i] - begin};
  }
  std::vector<std::string> to_strings() const;
};

class Tokenizer {
 public:
  // max_tokens > 0 keeps only the first max_tokens tokens (the --max-len truncation).
  // `vectorized` false keeps to the byte-wise path everywhere (the tests' reference for the
  // 32-byte AVX2 path, which gives the same tokens).
  explicit Tokenizer(std::size_t max_tokens = 0, bool vectorized = true)
      : max_tokens_(max_tokens), vectorized_(vectorized) {}

  // Replaces `out` with the tokens of `text` (valid UTF-8).
  void tokenize(std::string_view text, TokenList& out) const {
    out.bytes.clear();
    out.ends.clear();
    append(text, out);
    finish(out);
  }
  // The same in steps: append() the tokens of several texts (each ends a token), then finish()
  // applies the max_tokens limit and pads.
  void append(std::string_view text, TokenList& out) const;
  void finish(TokenList& out) const;

 private:
  std::size_t max_tokens_;
  bool vectorized_;
};

}  // namespace engine::io
