// Vocabulary: token <-> id. Ids 0 and 1 are the specials <pad> and <unk>; the other tokens
// follow by descending training-split frequency, ties broken by byte order (as torchtext's
// build_vocab_from_iterator), so a vocabulary is a pure function of the counts.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

namespace engine::io {

struct VocabLimits {
  std::int64_t min_freq = 1;  // tokens seen fewer times become <unk>
  std::int64_t max_size = 0;  // total size including the specials; 0 = no limit
};

class Vocab {
 public:
  static constexpr std::int32_t kPadId = 0;
  static constexpr std::int32_t kUnkId = 1;
  static constexpr std::string_view kPad = "<pad>";
  static constexpr std::string_view kUnk = "<unk>";

  // counts: (token, training-split count). Tokens equal to a special are ignored.
  static Vocab build(std::vector<std::pair<std::string, std::int64_t>> counts,
                     const VocabLimits& limits);
  // From tokens in id order (specials first) with their counts, e.g. read back from a file.
  static Vocab from_tokens(std::vector<std::string> tokens, std::vector<std::int64_t> counts,
                           const std::string& source);

  std::int32_t id(std::string_view token) const;  // kUnkId when absent
  const std::string& token(std::int32_t id) const { return tokens_.at(id); }
  std::int64_t count(std::int32_t id) const { return counts_.at(id); }
  std::int32_t size() const { return static_cast<std::int32_t>(tokens_.size()); }
  const std::vector<std::string>& tokens() const { return tokens_; }
  const std::vector<std::int64_t>& counts() const { return counts_; }

  // "id<TAB>token<TAB>count" per line, for people (tokens never hold whitespace).
  void save_text(const std::string& path) const;
  void save_hdf5(const std::string& path) const;
  static Vocab load_hdf5(const std::string& path);

 private:
  void index();
  std::vector<std::string> tokens_;
  std::vector<std::int64_t> counts_;
  std::unordered_map<std::string_view, std::int32_t> ids_;
};

}  // namespace engine::io
