#include "io/text_clean.h"

#include <array>
#include <cstdint>
#include <cstring>
#include <utility>

#if defined(__AVX2__)
#include <immintrin.h>
#endif

#include "io/utf8.h"

namespace engine::io {

namespace {

struct NamedEntity {
  std::string_view name;
  char32_t code_point;
};

// Names recognised without their '&' are the ones AG News actually mangles.
constexpr std::array<NamedEntity, 16> kEntities{{{"amp", '&'},
                                                 {"lt", '<'},
                                                 {"gt", '>'},
                                                 {"quot", '"'},
                                                 {"apos", '\''},
                                                 {"nbsp", ' '},
                                                 {"mdash", 0x2014},
                                                 {"ndash", 0x2013},
                                                 {"hellip", 0x2026},
                                                 {"lsquo", 0x2018},
                                                 {"rsquo", 0x2019},
                                                 {"ldquo", 0x201C},
                                                 {"rdquo", 0x201D},
                                                 {"copy", 0xA9},
                                                 {"reg", 0xAE},
                                                 {"eacute", 0xE9}}};
constexpr std::size_t kBrokenNamedCount = 6;  // the first six

// ASCII-only classes (the C locale's), inline: <cctype> calls dominated the profile.
bool is_alpha(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}
bool is_digit(char c) {
  return c >= '0' && c <= '9';
}
bool is_alnum(char c) {
  return is_alpha(c) || is_digit(c);
}
bool is_xdigit(char c) {
  return is_digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

// Tries to read a numeric entity body at text[pos] ("#39;" or "#x27;"); on success appends
// the character and returns the length consumed, else 0.
std::size_t decode_numeric(std::string_view text, std::size_t pos, std::string& out) {
  std::size_t i = pos + 1;
  const bool hex = i < text.size() && (text[i] == 'x' || text[i] == 'X');
  if (hex) ++i;
  const std::size_t digits_start = i;
  char32_t cp = 0;
  while (i < text.size() && i - digits_start < 7 &&
         (hex ? is_xdigit(text[i]) : is_digit(text[i]))) {
    const char c = text[i];
    const int digit = is_digit(c) ? c - '0' : ((c | 0x20) - 'a' + 10);
    cp = cp * (hex ? 16 : 10) + static_cast<char32_t>(digit);
    ++i;
  }
  if (i == digits_start || i >= text.size() || text[i] != ';') return 0;
  if (cp == 0 || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) cp = ' ';
  utf8::append(out, cp);
  return i + 1 - pos;
}

std::size_t decode_named(std::string_view text, std::size_t pos, std::size_t table_size,
                         std::string& out) {
  for (std::size_t k = 0; k < table_size; ++k) {
    const auto& entity = kEntities[k];
    if (text.substr(pos, entity.name.size()) == entity.name &&
        pos + entity.name.size() < text.size() && text[pos + entity.name.size()] == ';') {
      utf8::append(out, entity.code_point);
      return entity.name.size() + 1;
    }
  }
  return 0;
}

// Every entity ends at a ';' and is at most this long before it ("&#x10FFFF" has 9 bytes; a
// longer digit run is not an entity), so only windows before each ';' need the careful scan.
constexpr std::size_t kLongestEntity = 11;

void decode_entities(std::string_view text, std::string& out) {
  std::size_t i = 0;
  // One step of the scan at text[i]: decodes an entity starting there or copies one byte.
  const auto step = [&] {
    const char c = text[i];
    std::size_t used = 0;
    if (c == '&' && i + 1 < text.size()) {
      used = text[i + 1] == '#' ? decode_numeric(text, i + 1, out)
                                : decode_named(text, i + 1, kEntities.size(), out);
      if (used) ++used;  // the '&'
    } else if (c == '#') {
      used = decode_numeric(text, i, out);  // "It#39;s": digits and ';' are specific enough
    } else if (is_alpha(c) && (i == 0 || (!is_alnum(text[i - 1]) && text[i - 1] != ';'))) {
      used = decode_named(text, i, kBrokenNamedCount, out);
    }
    if (used) {
      i += used;
    } else {
      out.push_back(c);
      ++i;
    }
  };
  for (std::size_t semi = text.find(';'); semi != std::string_view::npos;
       semi = text.find(';', semi + 1)) {
    if (semi < i) continue;  // inside an entity already decoded
    const std::size_t window = semi > kLongestEntity ? semi - kLongestEntity : 0;
    if (window > i) {
      out.append(text.substr(i, window - i));
      i = window;
    }
    while (i <= semi) step();
  }
  out.append(text.substr(std::min(i, text.size())));
}

void replace_backslashes(std::string_view text, std::string& out) {
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] != '\\') {
      out.push_back(text[i]);
      continue;
    }
    out.push_back(' ');
    if (i + 1 < text.size()) {
      const char next = text[i + 1];
      const bool escape_letter = next == 'n' || next == 'r' || next == 't';
      const bool letter_follows = i + 2 < text.size() && is_alpha(text[i + 2]);
      if (next == '\\' || (escape_letter && !letter_follows)) ++i;
    }
  }
}

void remove_tags(std::string_view text, std::string& out) {
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '<') {
      std::size_t j = i + 1;
      if (j < text.size() && text[j] == '/') ++j;
      if (j < text.size() && is_alpha(text[j])) {
        std::size_t k = j;
        while (k < text.size() && k - i < 256 && text[k] != '>' && text[k] != '<') ++k;
        if (k < text.size() && text[k] == '>') {
          out.push_back(' ');
          i = k;
          continue;
        }
      }
    }
    out.push_back(text[i]);
  }
}

// Appends `text` to `out` with whitespace and control-character runs collapsed to one space
// and none at either end of what is appended.
void append_collapsed(std::string_view text, std::string& out) {
  const std::size_t base = out.size();
  bool pending_space = false;
  for (std::size_t i = 0; i < text.size();) {
    const auto byte = static_cast<unsigned char>(text[i]);
    if (byte < 0x80) {
      ++i;
      if (byte <= 0x20 || byte == 0x7F) {
        pending_space = out.size() > base;
        continue;
      }
      if (pending_space) out.push_back(' ');
      pending_space = false;
      out.push_back(static_cast<char>(byte));
      continue;
    }
    const std::size_t start = i;
    if (utf8::is_space(utf8::decode(text, i))) {
      pending_space = out.size() > base;
      continue;
    }
    if (pending_space) out.push_back(' ');
    pending_space = false;
    out.append(text.substr(start, i - start));
  }
}

}  // namespace

bool needs_cleaning(std::string_view raw) {
  // Eight bytes at a time: a byte equal to c shows up as a zero byte in (word ^ c * 0x01..01).
  constexpr std::uint64_t kOnes = 0x0101010101010101ULL;
  constexpr std::uint64_t kHighs = 0x8080808080808080ULL;
  const auto has = [](std::uint64_t word, char c) {
    const std::uint64_t x = word ^ (kOnes * static_cast<unsigned char>(c));
    return ((x - kOnes) & ~x & kHighs) != 0;
  };
  std::size_t i = 0;
#if defined(__AVX2__)
  for (; i + 32 <= raw.size(); i += 32) {
    const __m256i v = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(raw.data() + i));
    const __m256i hits =
        _mm256_or_si256(_mm256_or_si256(_mm256_cmpeq_epi8(v, _mm256_set1_epi8(';')),
                                        _mm256_cmpeq_epi8(v, _mm256_set1_epi8('\\'))),
                        _mm256_cmpeq_epi8(v, _mm256_set1_epi8('<')));
    if (_mm256_movemask_epi8(hits) != 0) return true;
  }
#endif
  for (; i + 8 <= raw.size(); i += 8) {
    std::uint64_t word;
    std::memcpy(&word, raw.data() + i, 8);
    if (has(word, ';') || has(word, '\\') || has(word, '<')) return true;
  }
  for (; i < raw.size(); ++i) {
    if (raw[i] == ';' || raw[i] == '\\' || raw[i] == '<') return true;
  }
  return false;
}

std::string_view TextCleaner::clean(std::string_view raw) {
  // Each rule runs only when its trigger character is present: most rows need none of them.
  // Rules write into whichever buffer does not hold their input.
  const bool entities = raw.find(';') != std::string_view::npos;
  const bool backslashes = raw.find('\\') != std::string_view::npos;
  const bool tags = raw.find('<') != std::string_view::npos || entities;  // "&lt;b&gt;" makes tags
  std::string_view text = raw;
  std::string* spare = &first_;
  std::string* other = &second_;
  const auto apply = [&](void (*rule)(std::string_view, std::string&)) {
    spare->clear();
    rule(text, *spare);
    text = *spare;
    std::swap(spare, other);
  };
  if (entities) {
    apply(decode_entities);
    if (text.find('&') != std::string_view::npos) apply(decode_entities);  // "&amp;lt;"
  }
  if (backslashes || text.find('\\') != std::string_view::npos) apply(replace_backslashes);
  if (tags) apply(remove_tags);
  return text;
}

std::string clean_text(std::string_view raw) {
  TextCleaner cleaner;
  std::string out;
  append_collapsed(cleaner.clean(raw), out);
  return out;
}

}  // namespace engine::io
