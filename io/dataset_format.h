// The on-disk dataset written by engine_prep and read by the loader (format version 1):
//
//   DIR/manifest.json        what is here: splits, shards, counts, checksums, classes, prep options
//   DIR/vocab.h5             /tokens (UTF-8 strings, id order), /counts (int64 training counts)
//   DIR/vocab.txt            the same for people: "id<TAB>token<TAB>count"
//   DIR/SPLIT/shard-NNNNN.h5 one file per shard of each split (train, valid, test):
//       /tokens  int32[num_tokens]       all sequences concatenated (chunked, shuffle+deflate)
//       /offsets int64[num_examples + 1] sequence i is tokens[offsets[i], offsets[i+1])
//       /labels  int32[num_examples]     class index 0..K-1 (CSV class c is stored as c - 1)
//       attributes: format, format_version, split, shard_index, num_shards, num_examples,
//                   num_tokens, vocab_size, num_classes, class_names, checksum
//
// Sequences are never empty and never hold the <pad> id 0.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>

namespace engine::io {

inline constexpr std::string_view kShardFormat = "rnn-engine-shard";
inline constexpr std::string_view kDatasetFormat = "rnn-engine-dataset";
inline constexpr std::int64_t kDatasetFormatVersion = 1;
inline constexpr std::size_t kTokenChunk = 1 << 16;
inline constexpr std::size_t kIndexChunk = 1 << 14;

std::string shard_file_name(const std::string& split, std::size_t index);

// Checksums travel as 16 hex digits: HDF5 attributes and JSON both mangle unsigned 64-bit ints.
std::string checksum_hex(std::uint64_t value);

// 64-bit checksum over a shard's contents, accumulated example by example: it catches
// corruption that still decompresses and a shard swapped for another.
class ShardChecksum {
 public:
  void add(std::span<const std::int32_t> tokens, std::int32_t label);
  std::uint64_t value() const { return state_; }

 private:
  void mix(std::uint64_t word) {
    state_ = (state_ ^ word) * 0x100000001b3ULL;
    state_ ^= state_ >> 29;
  }
  std::uint64_t state_ = 0xcbf29ce484222325ULL;
};

}  // namespace engine::io
