// Writes one HDF5 shard (layout in dataset_format.h), streaming: examples are buffered and
// appended in blocks, so a shard of any size is written in bounded memory.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "io/dataset_format.h"
#include "io/hdf5_file.h"
#include "io/prefiltered_dataset.h"

namespace engine::io {

struct ShardHeader {
  std::string split;
  std::int64_t shard_index = 0;
  std::int64_t num_shards = 1;
  std::int64_t vocab_size = 0;
  std::vector<std::string> class_names;
};

struct ShardSummary {
  std::int64_t num_examples = 0;
  std::int64_t num_tokens = 0;
  std::uint64_t checksum = 0;
};

class ShardWriter {
 public:
  ShardWriter(const std::string& path, ShardHeader header);
  void add(std::span<const std::int32_t> tokens, std::int32_t label);
  ShardSummary finish();  // flushes and writes the attributes; the writer is done after this

 private:
  void flush();

  ShardHeader header_;
  h5::File file_;
  PrefilteredInt32Dataset tokens_;
  h5::AppendableDataset offsets_;
  h5::AppendableDataset labels_;
  std::vector<std::int32_t> token_buffer_;
  std::vector<std::int64_t> offset_buffer_;
  std::vector<std::int32_t> label_buffer_;
  std::int64_t total_tokens_ = 0;
  ShardChecksum checksum_;
};

}  // namespace engine::io
