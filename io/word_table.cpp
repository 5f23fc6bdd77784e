#include "io/word_table.h"

#if defined(__SSE4_2__)
#include <nmmintrin.h>
#endif

namespace engine::io {

namespace {

std::uint64_t load8(const char* p) {
  std::uint64_t w;
  std::memcpy(&w, p, 8);
  return w;
}

// The low `bytes` bytes of w (bytes <= 8).
std::uint64_t keep_low(std::uint64_t w, std::size_t bytes) {
  return bytes >= 8 ? w : w & ((std::uint64_t{1} << (8 * bytes)) - 1);
}

#if !defined(__SSE4_2__)
std::uint64_t mix(std::uint64_t h) {  // murmur3's finaliser
  h ^= h >> 33;
  h *= 0xff51afd7ed558ccdULL;
  h ^= h >> 33;
  h *= 0xc4ceb9fe1a85ec53ULL;
  return h ^ (h >> 33);
}
#endif

// Hashes 8 bytes into h: the CRC32-C instruction (3 cycles) where the CPU has one.
std::uint64_t hash_step(std::uint64_t h, std::uint64_t word) {
#if defined(__SSE4_2__)
  return _mm_crc32_u64(h, word);
#else
  return mix(h ^ word) + 0x9e3779b97f4a7c15ULL;
#endif
}

}  // namespace

// Inline: it runs once per token, and the call cost as much as the hash.
inline WordTable::Key WordTable::make_key(const char* word, std::size_t length) {
  Key key{{keep_low(load8(word), length), length > 8 ? keep_low(load8(word + 8), length - 8) : 0},
          0};
  std::uint64_t h = hash_step(hash_step(length, key.head[0]), key.head[1]);
  for (std::size_t at = 16; at < length; at += 8) {
    h = hash_step(h, keep_low(load8(word + at), length - at));
  }
  key.hash = h;
  return key;
}

inline std::int32_t WordTable::intern(const char* word, std::size_t length, const Key& key,
                                      bool count) {
  const std::size_t mask = slots_.size() - 1;
  for (std::size_t i = key.hash & mask;; i = (i + 1) & mask) {
    Slot& slot = slots_[i];
    if (slot.id < 0) return insert(slot, word, length, key, count);
    if (slot.head[0] == key.head[0] && slot.head[1] == key.head[1] && slot.length == length &&
        (length <= 16 ||
         std::memcmp(words_[static_cast<std::size_t>(slot.id)].data(), word, length) == 0)) {
      slot.count += count ? 1 : 0;
      return slot.id;
    }
  }
}

std::int32_t WordTable::insert(Slot& slot, const char* word, std::size_t length, const Key& key,
                               bool count) {
  const auto id = static_cast<std::int32_t>(words_.size());
  slot = {{key.head[0], key.head[1]}, static_cast<std::uint32_t>(length), id, count ? 1 : 0};
  words_.emplace_back(word, length);
  if (words_.size() * 2 > slots_.size()) grow();
  return id;
}

std::int32_t WordTable::intern(std::string_view word, bool count) {
  std::string padded(word);
  padded.resize(word.size() + TokenList::kPadding, '\0');
  return intern(padded.data(), word.size(), make_key(padded.data(), word.size()), count);
}

void WordTable::intern_all(const TokenList& tokens, bool count, std::vector<std::int32_t>& ids) {
  keys_.resize(tokens.size());
  const char* bytes = tokens.bytes.data();
  std::uint32_t begin = 0;
  for (std::size_t t = 0; t < tokens.size(); ++t) {
    keys_[t] = make_key(bytes + begin, tokens.ends[t] - begin);
    __builtin_prefetch(&slots_[keys_[t].hash & (slots_.size() - 1)]);
    begin = tokens.ends[t];
  }
  begin = 0;
  for (std::size_t t = 0; t < tokens.size(); ++t) {
    ids.push_back(intern(bytes + begin, tokens.ends[t] - begin, keys_[t], count));
    begin = tokens.ends[t];
  }
}

void WordTable::grow() {
  std::vector<Slot> bigger(slots_.size() * 2);
  std::string padded;
  for (const Slot& slot : slots_) {
    if (slot.id < 0) continue;
    padded = words_[static_cast<std::size_t>(slot.id)];
    const std::size_t length = padded.size();
    padded.resize(length + TokenList::kPadding, '\0');
    std::size_t i = make_key(padded.data(), length).hash & (bigger.size() - 1);
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
