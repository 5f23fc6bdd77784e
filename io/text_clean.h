// Cleans the quirks of AG News style text before tokenization. Rules, in order:
//  1. HTML entities are decoded: named (&amp; &lt; &gt; &quot; &apos; &nbsp; and a few
//     typographic ones), numeric (&#39; &#x27;), and the broken forms AG News is full of, where
//     the '&' was lost: "It#39;s", "#36;", "quot;", "lt;b" ... (a broken named form counts only
//     when it follows no letter, digit or ';', so "aquot;" stays and "&amp;lt;" is "&lt;").
//     Decoding runs twice, which also undoes double escaping ("&amp;lt;" -> "<").
//  2. Literal backslash sequences are line-break debris: "\\" and a lone "\" become a space;
//     "\n", "\r", "\t" become a space when no letter follows (else the letter is kept:
//     "ultra\nice" is read as a lost line break before "nice").
//  3. Stray tags ("<b>", "</a>", "<a href=...>", "<br />") become a space.
//  4. Control characters become spaces; runs of whitespace collapse to one; ends are trimmed.
// Input must be valid UTF-8; output is valid UTF-8.
#pragma once

#include <string>
#include <string_view>

namespace engine::io {

// All four rules.
std::string clean_text(std::string_view raw);

// False when no rule 1-3 can apply (no ';', '\\' or '<'): then cleaning only normalises
// whitespace, which the tokenizer does by itself, so callers may skip it.
bool needs_cleaning(std::string_view raw);

// Rules 1-3 only, for text on its way to the tokenizer, which splits on whitespace and control
// characters itself (so rule 4 cannot change a token); buffers are reused across calls.
class TextCleaner {
 public:
  // The cleaned text; it lives in the cleaner until the next call.
  std::string_view clean(std::string_view raw);

 private:
  std::string first_;
  std::string second_;
};

}  // namespace engine::io
