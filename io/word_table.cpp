#include "io/word_table.h"

namespace engine::io {

std::uint64_t WordTable::hash_word(std::string_view word) {
  // Eight bytes at a time, then murmur3's finaliser: the table index takes the low bits.
  std::uint64_t h = word.size() * 0x9e3779b97f4a7c15ULL;
  const char* p = word.data();
  std::size_t left = word.size();
  for (; left >= 8; p += 8, left -= 8) {
    std::uint64_t w;
    std::memcpy(&w, p, 8);
    h = (h ^ w) * 0xbf58476d1ce4e5b9ULL;
    h ^= h >> 31;
  }
  if (left > 0) {
    std::uint64_t w = 0;
    std::memcpy(&w, p, left);
    h = (h ^ w) * 0x94d049bb133111ebULL;
  }
  h ^= h >> 33;
  h *= 0xff51afd7ed558ccdULL;
  return h ^ (h >> 33);
}

std::int32_t WordTable::intern(std::string_view word, std::uint64_t hash, bool count) {
  const std::uint64_t prefix = load_prefix(word);
  const std::size_t mask = slots_.size() - 1;
  std::size_t i = hash & mask;
  while (slots_[i].id >= 0) {
    Slot& slot = slots_[i];
    // Words of up to 8 bytes are decided by the slot alone, with no second memory access.
    if (slot.prefix == prefix && slot.length == word.size() &&
        (word.size() <= 8 || words_[static_cast<std::size_t>(slot.id)] == word)) {
      slot.count += count ? 1 : 0;
      return slot.id;
    }
    i = (i + 1) & mask;
  }
  const auto id = static_cast<std::int32_t>(words_.size());
  slots_[i] = {prefix, static_cast<std::uint32_t>(word.size()), id, count ? 1 : 0};
  words_.emplace_back(word);
  if (words_.size() * 2 > slots_.size()) grow();
  return id;
}

void WordTable::intern_all(const TokenList& tokens, bool count, std::vector<std::int32_t>& ids) {
  hashes_.resize(tokens.size());
  for (std::size_t t = 0; t < tokens.size(); ++t) {
    hashes_[t] = hash_word(tokens[t]);
    __builtin_prefetch(&slots_[hashes_[t] & (slots_.size() - 1)]);
  }
  for (std::size_t t = 0; t < tokens.size(); ++t)
    ids.push_back(intern(tokens[t], hashes_[t], count));
}

void WordTable::grow() {
  std::vector<Slot> bigger(slots_.size() * 2);
  for (const Slot& slot : slots_) {
    if (slot.id < 0) continue;
    std::size_t i = hash_word(words_[static_cast<std::size_t>(slot.id)]) & (bigger.size() - 1);
    while (bigger[i].id >= 0) i = (i + 1) & (bigger.size() - 1);
    bigger[i] = slot;
  }
  slots_.swap(bigger);
}

Vocab WordTable::build_vocab(const VocabLimits& limits, std::vector<std::int32_t>& remap) const {
  std::vector<std::pair<std::string, std::int64_t>> counted;
  for (const Slot& slot : slots_) {
    if (slot.id >= 0 && slot.count > 0) {
      counted.emplace_back(words_[static_cast<std::size_t>(slot.id)], slot.count);
    }
  }
  Vocab vocab = Vocab::build(std::move(counted), limits);
  remap.resize(words_.size());
  for (std::size_t id = 0; id < words_.size(); ++id) remap[id] = vocab.id(words_[id]);
  return vocab;
}

}  // namespace engine::io
