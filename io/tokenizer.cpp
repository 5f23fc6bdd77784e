#include "io/tokenizer.h"

#include <array>
#include <cstring>

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

// Whether all eight bytes are in 'a'..'z': adding 0x80-'a' sets a byte's top bit iff it is
// >= 'a', adding 0x80-('z'+1) iff it is > 'z' (no carries cross bytes for ASCII input).
bool all_lower_letters(std::uint64_t block) {
  constexpr std::uint64_t kOnes = 0x0101010101010101ULL;
  constexpr std::uint64_t kHighs = 0x8080808080808080ULL;
  if (block & kHighs) return false;
  const std::uint64_t at_least_a = block + kOnes * (0x80 - 'a');
  const std::uint64_t above_z = block + kOnes * (0x80 - 'z' - 1);
  return (at_least_a & ~above_z & kHighs) == kHighs;
}

bool at_line_break_tag(std::string_view text, std::size_t i) {
  // "<br />" in any case, as the lower-cased text would show it.
  return i + 6 <= text.size() && (text[i + 1] | 0x20) == 'b' && (text[i + 2] | 0x20) == 'r' &&
         text.substr(i + 3, 3) == " />";
}

}  // namespace

void Tokenizer::append(std::string_view text, TokenList& out) const {
  // Output never outgrows the input (lower-casing keeps UTF-8 lengths; tokens only drop bytes),
  // so write through a pointer into space reserved up front and trim at the end.
  std::string& bytes = out.bytes;
  const std::size_t base = bytes.size();
  bytes.resize(base + text.size());
  char* const begin = bytes.data();
  char* write = begin + base;
  char* token_start = write;
  const auto end_token = [&] {
    if (write > token_start) {
      out.ends.push_back(static_cast<std::uint32_t>(write - begin));
      token_start = write;
    }
  };
  const std::size_t n = text.size();
  for (std::size_t i = 0; i < n;) {
    const auto byte = static_cast<unsigned char>(text[i]);
    switch (kClasses[byte]) {
      case kWord:
        // A run of word bytes, copied and lower-cased in one go; eight at a time while they
        // are all lower-case ASCII letters, the common case.
        do {
          std::uint64_t block;
          while (i + 8 <= n &&
                 (std::memcpy(&block, text.data() + i, 8), all_lower_letters(block))) {
            std::memcpy(write, &block, 8);
            write += 8;
            i += 8;
          }
          if (i == n) break;
          const char c = text[i];
          if (kClasses[static_cast<unsigned char>(c)] != kWord) break;
          *write++ = (c >= 'A' && c <= 'Z') ? static_cast<char>(c + 32) : c;
          ++i;
        } while (true);
        continue;
      case kSpace:
      case kBreak:
        end_token();
        break;
      case kSingle:
        end_token();
        *write++ = static_cast<char>(byte);
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
        *write++ = '<';
        break;
      case kHigh: {
        const char32_t cp = utf8::decode(text, i);
        if (utf8::is_space(cp)) {
          end_token();
        } else {
          write += utf8::encode(utf8::to_lower(cp), write);
        }
        continue;
      }
    }
    ++i;
  }
  end_token();
  bytes.resize(static_cast<std::size_t>(write - begin));
}

void Tokenizer::finish(TokenList& out) const {
  out.truncated = max_tokens_ > 0 && out.ends.size() > max_tokens_;
  if (out.truncated) out.ends.resize(max_tokens_);
  // Zero padding after the last token lets readers load words 8 bytes at a time.
  out.bytes.resize((out.ends.empty() ? 0 : out.ends.back()) + TokenList::kPadding, '\0');
}

}  // namespace engine::io
