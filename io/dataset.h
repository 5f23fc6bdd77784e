// Reading a prepared dataset (layout in dataset_format.h). Files may come from anywhere, so
// everything is validated on load: format and version, counts against the manifest, every
// offset, label and token id against its bounds, and each shard's checksum.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <span>
#include <string>
#include <vector>

namespace engine::io {

struct ShardInfo {
  std::string file;  // relative to the dataset directory
  std::int64_t num_examples = 0;
  std::int64_t num_tokens = 0;
  std::string checksum;  // 16 hex digits
};

struct SplitInfo {
  std::string name;
  std::int64_t num_examples = 0;
  std::int64_t num_tokens = 0;
  std::vector<ShardInfo> shards;
};

struct DatasetInfo {
  std::string dir;
  std::int64_t vocab_size = 0;
  std::vector<std::string> class_names;
  std::vector<SplitInfo> splits;
  nlohmann::json prep;  // how it was made: inputs, options, bad-row counts

  std::int64_t num_classes() const { return static_cast<std::int64_t>(class_names.size()); }
  bool has_split(const std::string& name) const;
  const SplitInfo& split(const std::string& name) const;  // throws naming the missing split
  // A fingerprint of the contents (all shard checksums): ranks compare it before training.
  std::string fingerprint() const;

  nlohmann::json to_json() const;
  static DatasetInfo from_json(const nlohmann::json& manifest, const std::string& dir);
  static DatasetInfo load(const std::string& dir);  // reads DIR/manifest.json
};

// One split held in memory: 4 bytes per token plus 12 per example.
struct SplitData {
  std::vector<std::int32_t> tokens;
  std::vector<std::int64_t> offsets;  // size() + 1 entries
  std::vector<std::int32_t> labels;

  std::size_t size() const { return labels.size(); }
  std::int64_t length(std::size_t i) const { return offsets[i + 1] - offsets[i]; }
  std::span<const std::int32_t> sequence(std::size_t i) const {
    return {tokens.data() + offsets[i], static_cast<std::size_t>(length(i))};
  }
};

SplitData load_split(const DatasetInfo& info, const std::string& split);

}  // namespace engine::io
