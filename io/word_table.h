// Every distinct word engine_prep sees, with a provisional id in order of first appearance and
// its count in the training split. This table is the only prep state that grows with the corpus.
//
// Interning runs once per token and was the top cost of prep, dominated by cache misses on
// a table larger than L2: so it is open addressing whose 24-byte slot holds everything a
// lookup needs (the word's first 8 bytes, length, id and count), and a row's slots are
// prefetched before they are probed.
#pragma once

#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>
#include <vector>

#include "io/tokenizer.h"
#include "io/vocab.h"

namespace engine::io {

class WordTable {
 public:
  WordTable() : slots_(1 << 16) {}

  // Appends the provisional id of each token to `ids`; counts them when `count`.
  void intern_all(const TokenList& tokens, bool count, std::vector<std::int32_t>& ids);
  std::int32_t intern(std::string_view word, bool count) {
    return intern(word, hash_word(word), count);
  }

  std::size_t size() const { return words_.size(); }

  // Vocabulary from the training counts, plus the provisional -> final id map.
  Vocab build_vocab(const VocabLimits& limits, std::vector<std::int32_t>& remap) const;

 private:
  struct Slot {
    std::uint64_t prefix = 0;  // the word's first 8 bytes, zero-padded
    std::uint32_t length = 0;
    std::int32_t id = -1;
    std::int64_t count = 0;
  };

  std::int32_t intern(std::string_view word, std::uint64_t hash, bool count);
  static std::uint64_t load_prefix(std::string_view word) {
    std::uint64_t w = 0;
    std::memcpy(&w, word.data(), word.size() < 8 ? word.size() : 8);
    return w;
  }
  static std::uint64_t hash_word(std::string_view word);
  void grow();

  std::vector<Slot> slots_;  // size is a power of two, at most half full
  std::vector<std::string> words_;
  std::vector<std::uint64_t> hashes_;  // scratch for intern_all
};

}  // namespace engine::io
