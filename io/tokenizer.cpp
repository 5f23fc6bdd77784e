#include "io/tokenizer.h"

#include <array>
#include <cstring>

#if defined(__AVX2__)
#include <immintrin.h>
#endif

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

// Where append() writes: the output bytes, the start of the open token, and its end list.
struct TokenSink {
  char* begin;
  char* write;
  char* token_start;
  std::vector<std::uint32_t>& ends;

  void end_token() {
    if (write > token_start) {
      ends.push_back(static_cast<std::uint32_t>(write - begin));
      token_start = write;
    }
  }
};

// One step of the byte-wise tokenizer at text[i]: handles one byte, one multi-byte character,
// one "<br />" or one run of word bytes, and advances i.
inline void scalar_step(std::string_view text, std::size_t& i, TokenSink& sink) {
  const std::size_t n = text.size();
  const auto byte = static_cast<unsigned char>(text[i]);
  switch (kClasses[byte]) {
    case kWord:
      // A run of word bytes, copied and lower-cased in one go; eight at a time while they
      // are all lower-case ASCII letters.
      do {
        std::uint64_t block;
        while (i + 8 <= n && (std::memcpy(&block, text.data() + i, 8), all_lower_letters(block))) {
          std::memcpy(sink.write, &block, 8);
          sink.write += 8;
          i += 8;
        }
        if (i == n) break;
        const char c = text[i];
        if (kClasses[static_cast<unsigned char>(c)] != kWord) break;
        *sink.write++ = (c >= 'A' && c <= 'Z') ? static_cast<char>(c + 32) : c;
        ++i;
      } while (true);
      return;
    case kSpace:
    case kBreak:
      sink.end_token();
      break;
    case kSingle:
      sink.end_token();
      *sink.write++ = static_cast<char>(byte);
      sink.end_token();
      break;
    case kDrop:
      break;
    case kAngle:
      if (at_line_break_tag(text, i)) {
        sink.end_token();
        i += 6;
        return;
      }
      *sink.write++ = '<';
      break;
    case kHigh: {
      const char32_t cp = utf8::decode(text, i);
      if (utf8::is_space(cp)) {
        sink.end_token();
      } else {
        sink.write += utf8::encode(utf8::to_lower(cp), sink.write);
      }
      return;
    }
  }
  ++i;
}

// The vector path's block: one AVX2 register of bytes.
constexpr std::size_t kBlock = 32;

#if defined(__AVX2__)
constexpr bool kVectorized = true;

// Tokenizes the 32 bytes at `p` when none of them needs the byte-wise rules (multi-byte
// characters, '"' or '<'); returns false, having done nothing, when one does. Bytes are
// classified and lower-cased 32 at a time; then each separator (whitespace, ';', ':' or a
// punctuation token) ends the word bytes before it, which are copied 16 at a time. The
// output buffer has kBlock bytes of slack for those blind copies.
inline bool vector_block(const char* p, TokenSink& sink) {
  const __m256i v = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p));
  const auto eq = [&v](char c) { return _mm256_cmpeq_epi8(v, _mm256_set1_epi8(c)); };
  const auto mask = [](__m256i m) { return static_cast<std::uint32_t>(_mm256_movemask_epi8(m)); };
  const std::uint32_t special = mask(v) | mask(_mm256_or_si256(eq('"'), eq('<')));
  if (special != 0) return false;
  // Unsigned byte <= 0x20 is min(byte, 0x20) == byte; then DEL, ';' and ':'.
  const __m256i control = _mm256_cmpeq_epi8(_mm256_min_epu8(v, _mm256_set1_epi8(0x20)), v);
  const std::uint32_t space =
      mask(_mm256_or_si256(_mm256_or_si256(control, eq(0x7F)), _mm256_or_si256(eq(';'), eq(':'))));
  const std::uint32_t single = mask(_mm256_or_si256(
      _mm256_or_si256(_mm256_or_si256(eq('\''), eq('.')), _mm256_or_si256(eq(','), eq('('))),
      _mm256_or_si256(_mm256_or_si256(eq(')'), eq('!')), eq('?'))));
  const __m256i upper = _mm256_and_si256(_mm256_cmpgt_epi8(v, _mm256_set1_epi8('A' - 1)),
                                         _mm256_cmpgt_epi8(_mm256_set1_epi8('Z' + 1), v));
  alignas(32) char lowered[2 * kBlock];  // the upper half only feeds blind copies
  _mm256_store_si256(reinterpret_cast<__m256i*>(lowered + kBlock), _mm256_setzero_si256());
  _mm256_store_si256(reinterpret_cast<__m256i*>(lowered),
                     _mm256_add_epi8(v, _mm256_and_si256(upper, _mm256_set1_epi8(0x20))));
  const auto copy_words = [&sink, &lowered](std::uint32_t from, std::uint32_t to) {
    for (std::uint32_t at = from; at < to; at += 16) {
      std::memcpy(sink.write + (at - from), lowered + at, 16);
    }
    sink.write += to - from;
  };
  std::uint32_t from = 0;
  for (std::uint32_t separators = space | single; separators != 0; separators &= separators - 1) {
    const auto at = static_cast<std::uint32_t>(__builtin_ctz(separators));
    copy_words(from, at);
    sink.end_token();
    if ((single >> at) & 1) {
      *sink.write++ = lowered[at];
      sink.end_token();
    }
    from = at + 1;
  }
  copy_words(from, kBlock);  // the token stays open into the next block
  return true;
}
#else
constexpr bool kVectorized = false;
inline bool vector_block(const char*, TokenSink&) {
  return false;
}
#endif

}  // namespace

void Tokenizer::append(std::string_view text, TokenList& out) const {
  // Output never outgrows the input (lower-casing keeps UTF-8 lengths; tokens only drop bytes),
  // so write through a pointer into space reserved up front (plus slack for the vector path's
  // blind copies) and trim at the end.
  std::string& bytes = out.bytes;
  const std::size_t base = bytes.size();
  bytes.resize(base + text.size() + kBlock);
  TokenSink sink{bytes.data(), bytes.data() + base, bytes.data() + base, out.ends};
  const std::size_t n = text.size();
  std::size_t i = 0;
  if (kVectorized && vectorized_) {
    while (i + kBlock <= n) {
      if (vector_block(text.data() + i, sink)) {
        i += kBlock;
        continue;
      }
      for (const std::size_t block_end = i + kBlock; i < block_end;) scalar_step(text, i, sink);
    }
  }
  while (i < n) scalar_step(text, i, sink);
  sink.end_token();
  bytes.resize(static_cast<std::size_t>(sink.write - sink.begin));
}

void Tokenizer::finish(TokenList& out) const {
  out.truncated = max_tokens_ > 0 && out.ends.size() > max_tokens_;
  if (out.truncated) out.ends.resize(max_tokens_);
  // Zero padding after the last token lets readers load words 8 bytes at a time.
  out.bytes.resize((out.ends.empty() ? 0 : out.ends.back()) + TokenList::kPadding, '\0');
}

}  // namespace engine::io
