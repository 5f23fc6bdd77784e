#include "io/synthetic_corpus.h"

#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <vector>

#include "io/splitmix.h"

namespace engine::io {

namespace {

constexpr double kTopicShare = 0.35;  // share of words drawn from the row's class topic
constexpr std::int64_t kTopicWords = 300;

// Pronounceable pseudo-words from syllables: word i is the same string on every run.
std::string make_word(std::uint64_t index) {
  static constexpr const char* kSyllables[] = {"ka", "to",  "mi",  "re",  "su", "lo", "an",  "de",
                                               "ni", "por", "ve",  "sta", "qu", "el", "ri",  "mon",
                                               "ba", "gen", "tri", "ol",  "us", "fa", "wen", "zi"};
  constexpr std::uint64_t kCount = sizeof kSyllables / sizeof kSyllables[0];
  std::string word;
  std::uint64_t v = index;
  do {
    word += kSyllables[v % kCount];
    v /= kCount;
  } while (v > 0);
  return word;
}

class ZipfTable {
 public:
  ZipfTable(std::int64_t size, double exponent) : cdf_(static_cast<std::size_t>(size)) {
    double total = 0;
    for (std::int64_t i = 0; i < size; ++i) {
      total += 1.0 / std::pow(static_cast<double>(i + 1), exponent);
      cdf_[static_cast<std::size_t>(i)] = total;
    }
    for (auto& c : cdf_) c /= total;
  }
  std::size_t sample(SplitMix64& rng) const {
    const auto it = std::upper_bound(cdf_.begin(), cdf_.end(), rng.uniform());
    return std::min<std::size_t>(static_cast<std::size_t>(it - cdf_.begin()), cdf_.size() - 1);
  }

 private:
  std::vector<double> cdf_;
};

void append_csv_field(std::string& line, const std::string& text) {
  line.push_back('"');
  for (const char c : text) {
    if (c == '"') line.push_back('"');
    line.push_back(c);
  }
  line.push_back('"');
}

}  // namespace

std::int64_t write_synthetic_csv(const SyntheticOptions& options, std::ostream& out) {
  if (options.classes < 1 || options.vocab_words < 10 || options.min_words < 1 ||
      options.max_words < options.min_words) {
    throw std::invalid_argument("synthetic corpus: bad options");
  }
  std::vector<std::string> words;
  for (std::int64_t i = 0; i < options.vocab_words + options.classes * kTopicWords; ++i) {
    words.push_back(make_word(static_cast<std::uint64_t>(i)));
  }
  const ZipfTable common(options.vocab_words, 1.05);
  const ZipfTable topic(kTopicWords, 0.8);
  SplitMix64 rng(options.seed);

  std::string line, title, body;
  std::uint64_t written = 0;
  std::int64_t row = 0;
  const auto add_words = [&](std::string& text, std::int64_t count, std::int64_t label) {
    for (std::int64_t w = 0; w < count; ++w) {
      if (!text.empty()) text.push_back(rng.below(12) == 0 ? ',' : ' ');
      if (text.back() == ',') text.push_back(' ');
      const bool topical = rng.uniform() < kTopicShare;
      const std::size_t index =
          topical ? static_cast<std::size_t>(options.vocab_words + label * kTopicWords) +
                        topic.sample(rng)
                  : common.sample(rng);
      text += words[index];
      if (rng.below(15) == 0) text += ". ";
    }
  };
  while (options.bytes > 0 ? written < options.bytes : row < options.rows) {
    const auto label =
        static_cast<std::int64_t>(rng.below(static_cast<std::uint64_t>(options.classes)));
    title.clear();
    body.clear();
    add_words(title, 3 + static_cast<std::int64_t>(rng.below(6)), label);
    const auto span = static_cast<std::uint64_t>(options.max_words - options.min_words + 1);
    add_words(body, options.min_words + static_cast<std::int64_t>(rng.below(span)), label);
    if (options.quirks) {
      switch (rng.below(8)) {
        case 0:
          body += " It#39;s \"quoted\" &lt;b&gt;news&lt;/b&gt;";
          break;
        case 1:
          body.insert(0, "quot;Reuters quot; - ");
          break;
        case 2:
          body += " \\ continued\\on #36;5 <a href=\"x\">link</a>";
          break;
        default:
          break;
      }
    }
    body.push_back('.');
    line.clear();
    line += '"' + std::to_string(label + 1) + "\",";
    append_csv_field(line, title);
    line.push_back(',');
    append_csv_field(line, body);
    line.push_back('\n');
    out.write(line.data(), static_cast<std::streamsize>(line.size()));
    written += line.size();
    ++row;
  }
  return row;
}

}  // namespace engine::io
