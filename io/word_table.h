// Every distinct word engine_prep sees, with a provisional id in order of first appearance and
// its count in the training split. This table is the only prep state that grows with the corpus.
//
// Interning runs once per token and was the top cost of prep, dominated by cache misses and
// byte-wise work: so it is open addressing whose 32-byte slot holds everything a lookup needs
// (the word's first 16 bytes, its length, id and count; only longer words are compared
// elsewhere), words are read 8 bytes at a time from the tokenizer's padded buffer and hashed
// with CRC32-C, and a row's slots are prefetched before they are probed.
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
  std::int32_t intern(std::string_view word, bool count);

  std::size_t size() const { return words_.size(); }

  // Vocabulary from the training counts, plus the provisional -> final id map.
  Vocab build_vocab(const VocabLimits& limits, std::vector<std::int32_t>& remap) const;

 private:
  // A word's first 16 bytes (zero-padded) and its hash.
  struct Key {
    std::uint64_t head[2];
    std::uint64_t hash;
  };
  struct Slot {
    std::uint64_t head[2] = {0, 0};
    std::uint32_t length = 0;
    std::int32_t id = -1;
    std::int64_t count = 0;
  };

  // `word` must be followed by at least 16 readable bytes (TokenList's padding).
  static Key make_key(const char* word, std::size_t length);
  std::int32_t intern(const char* word, std::size_t length, const Key& key, bool count);
  // A new word into the empty slot its probe ended at (then the table may grow).
  [[gnu::noinline]] std::int32_t insert(Slot& slot, const char* word, std::size_t length,
                                        const Key& key, bool count);
  void grow();

  std::vector<Slot> slots_;  // size is a power of two, at most half full
  std::vector<std::string> words_;
  std::vector<Key> keys_;  // scratch for intern_all
};

}  // namespace engine::io
