#include "io/tokenizer.h"

#include "io/utf8.h"

namespace engine::io {

std::vector<std::string> TokenList::to_strings() const {
  std::vector<std::string> out;
  for (std::size_t i = 0; i < size(); ++i) out.emplace_back((*this)[i]);
  return out;
}

namespace {

// Appends tokens to a TokenList, closing the one in progress at each boundary.
class TokenSink {
 public:
  explicit TokenSink(TokenList& out) : out_(out) {
    out_.bytes.clear();
    out_.ends.clear();
    out_.truncated = false;
  }
  void push(char c) { out_.bytes.push_back(c); }
  void end_token() {
    if (out_.bytes.size() > start_) {
      out_.ends.push_back(static_cast<std::uint32_t>(out_.bytes.size()));
      start_ = out_.bytes.size();
    }
  }
  void single(char c) {
    end_token();
    push(c);
    end_token();
  }

 private:
  TokenList& out_;
  std::size_t start_ = 0;
};

bool at_line_break_tag(std::string_view text, std::size_t i) {
  // "<br />" in any case, as the lower-cased text would show it.
  return i + 6 <= text.size() && (text[i + 1] | 0x20) == 'b' && (text[i + 2] | 0x20) == 'r' &&
         text.substr(i + 3, 3) == " />";
}

}  // namespace

void Tokenizer::tokenize(std::string_view text, TokenList& out) const {
  TokenSink sink(out);
  out.bytes.reserve(text.size());
  for (std::size_t i = 0; i < text.size();) {
    const char c = text[i];
    if (static_cast<unsigned char>(c) >= 0x80) {
      const char32_t cp = utf8::decode(text, i);
      if (utf8::is_space(cp)) {
        sink.end_token();
      } else {
        utf8::append(out.bytes, utf8::to_lower(cp));
      }
      continue;
    }
    switch (c) {
      case '"':
        break;
      case '\'':
      case '.':
      case ',':
      case '(':
      case ')':
      case '!':
      case '?':
        sink.single(c);
        break;
      case ';':
      case ':':
        sink.end_token();
        break;
      case '<':
        if (at_line_break_tag(text, i)) {
          sink.end_token();
          i += 6;
          continue;
        }
        sink.push(c);
        break;
      default:
        if (utf8::is_space(static_cast<unsigned char>(c))) {
          sink.end_token();
        } else {
          sink.push(c >= 'A' && c <= 'Z' ? static_cast<char>(c + 32) : c);
        }
    }
    ++i;
  }
  sink.end_token();
  if (max_tokens_ > 0 && out.ends.size() > max_tokens_) {
    out.truncated = true;
    out.ends.resize(max_tokens_);
    out.bytes.resize(out.ends.back());
  }
}

}  // namespace engine::io
