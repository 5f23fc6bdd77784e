// UTF-8 helpers shared by the CSV reader, the cleaner and the tokenizer.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace engine::io::utf8 {

// True when `text` is well-formed UTF-8 (no overlongs, no surrogates, nothing above U+10FFFF).
bool is_valid(std::string_view text);

// Decodes the code point starting at text[pos] (text must be valid UTF-8) and advances pos.
char32_t decode(std::string_view text, std::size_t& pos);

// Writes the UTF-8 encoding of `cp` to `out` (room for 4 bytes); returns its length.
std::size_t encode(char32_t cp, char* out);

// Appends the UTF-8 encoding of `cp` to `out`.
inline void append(std::string& out, char32_t cp) {
  char buffer[4];
  out.append(buffer, encode(cp, buffer));
}

// Lower-cases one code point: ASCII, Latin-1, Latin Extended-A, Greek and Cyrillic capitals.
// The result never has a longer UTF-8 encoding than the input.
// Python's str.lower() covers all of Unicode; outside these blocks we leave letters unchanged.
char32_t to_lower(char32_t cp);

// Python's str.isspace() set: what str.split() and the regex \s split on. Inline: the tokenizer
// asks once per byte.
inline bool is_space(char32_t cp) {
  if (cp <= 0x20) return cp == ' ' || (cp >= 0x09 && cp <= 0x0D) || (cp >= 0x1C && cp <= 0x1F);
  if (cp < 0x85) return false;
  return cp == 0x85 || cp == 0xA0 || cp == 0x1680 || (cp >= 0x2000 && cp <= 0x200A) ||
         cp == 0x2028 || cp == 0x2029 || cp == 0x202F || cp == 0x205F || cp == 0x3000;
}

}  // namespace engine::io::utf8
