#include "io/tokenizer.h"

#include <array>

#include "io/utf8.h"

namespace engine::io {

std::vector<std::string> TokenList::to_strings() const {
  std::vector<std::string> out;
  for (std::size_t i = 0; i < size(); ++i) out.emplace_back((*this)[i]);
  return out;
}

namespace {

// What each ASCII byte does, looked up once per byte.
enum CharClass : unsigned char {
  kWord,    // part of a word (lower-cased)
  kSpace,   // ends a token (whitespace and control characters)
  kSingle,  // a token of its own: ' . , ( ) ! ?
  kDrop,    // removed: "
  kBreak,   // ends a token and is removed: ; :
  kAngle,   // '<': maybe "<br />"
  kHigh,    // first byte of a multi-byte UTF-8 sequence
};

constexpr std::array<CharClass, 256> make_classes() {
  std::array<CharClass, 256> classes{};
  for (int c = 0; c < 256; ++c) {
    classes[c] = c >= 0x80 ? kHigh : (c <= 0x20 || c == 0x7F) ? kSpace : kWord;
  }
  for (const char c : std::string_view("'.,()!?")) classes[static_cast<unsigned char>(c)] = kSingle;
  classes['"'] = kDrop;
  classes[';'] = kBreak;
  classes[':'] = kBreak;
  classes['<'] = kAngle;
  return classes;
}
constexpr std::array<CharClass, 256> kClasses = make_classes();

bool at_line_break_tag(std::string_view text, std::size_t i) {
  // "<br />" in any case, as the lower-cased text would show it.
  return i + 6 <= text.size() && (text[i + 1] | 0x20) == 'b' && (text[i + 2] | 0x20) == 'r' &&
         text.substr(i + 3, 3) == " />";
}

}  // namespace

void Tokenizer::append(std::string_view text, TokenList& out) const {
  std::string& bytes = out.bytes;
  std::size_t start = bytes.size();
  const auto end_token = [&] {
    if (bytes.size() > start) {
      out.ends.push_back(static_cast<std::uint32_t>(bytes.size()));
      start = bytes.size();
    }
  };
  const std::size_t n = text.size();
  for (std::size_t i = 0; i < n;) {
    const auto byte = static_cast<unsigned char>(text[i]);
    switch (kClasses[byte]) {
      case kWord: {
        // A run of word bytes is copied at once, lower-cased.
        std::size_t j = i + 1;
        while (j < n && kClasses[static_cast<unsigned char>(text[j])] == kWord) ++j;
        const std::size_t base = bytes.size();
        bytes.append(text.data() + i, j - i);
        for (std::size_t k = base; k < bytes.size(); ++k) {
          if (bytes[k] >= 'A' && bytes[k] <= 'Z') bytes[k] = static_cast<char>(bytes[k] + 32);
        }
        i = j;
        continue;
      }
      case kSpace:
      case kBreak:
        end_token();
        break;
      case kSingle:
        end_token();
        bytes.push_back(static_cast<char>(byte));
        end_token();
        break;
      case kDrop:
        break;
      case kAngle:
        if (at_line_break_tag(text, i)) {
          end_token();
          i += 6;
          continue;
        }
        bytes.push_back('<');
        break;
      case kHigh: {
        const char32_t cp = utf8::decode(text, i);
        if (utf8::is_space(cp)) {
          end_token();
        } else {
          utf8::append(bytes, utf8::to_lower(cp));
        }
        continue;
      }
    }
    ++i;
  }
  end_token();
}

void Tokenizer::finish(TokenList& out) const {
  out.truncated = max_tokens_ > 0 && out.ends.size() > max_tokens_;
  if (out.truncated) {
    out.ends.resize(max_tokens_);
    out.bytes.resize(out.ends.back());
  }
}

}  // namespace engine::io
