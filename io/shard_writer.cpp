#include "io/shard_writer.h"

namespace engine::io {

namespace {
constexpr std::size_t kFlushTokens = 1 << 20;
}

ShardWriter::ShardWriter(const std::string& path, ShardHeader header)
    : header_(std::move(header)),
      file_(h5::File::create(path)),
      tokens_(file_, "/tokens", kTokenChunk),
      offsets_(file_, "/offsets", H5T_STD_I64LE, kIndexChunk),
      labels_(file_, "/labels", H5T_STD_I32LE, kIndexChunk) {
  offset_buffer_.push_back(0);
}

void ShardWriter::add(std::span<const std::int32_t> tokens, std::int32_t label) {
  token_buffer_.insert(token_buffer_.end(), tokens.begin(), tokens.end());
  total_tokens_ += static_cast<std::int64_t>(tokens.size());
  offset_buffer_.push_back(total_tokens_);
  label_buffer_.push_back(label);
  checksum_.add(tokens, label);
  if (token_buffer_.size() >= kFlushTokens) flush();
}

void ShardWriter::flush() {
  tokens_.append(token_buffer_);
  offsets_.append<std::int64_t>(offset_buffer_);
  labels_.append<std::int32_t>(label_buffer_);
  token_buffer_.clear();
  offset_buffer_.clear();
  label_buffer_.clear();
}

ShardSummary ShardWriter::finish() {
  flush();
  tokens_.finish();
  const ShardSummary summary{static_cast<std::int64_t>(labels_.size()), total_tokens_,
                             checksum_.value()};
  file_.set_attr("/", "format", std::string(kShardFormat));
  file_.set_attr("/", "format_version", kDatasetFormatVersion);
  file_.set_attr("/", "split", header_.split);
  file_.set_attr("/", "shard_index", header_.shard_index);
  file_.set_attr("/", "num_shards", header_.num_shards);
  file_.set_attr("/", "num_examples", summary.num_examples);
  file_.set_attr("/", "num_tokens", summary.num_tokens);
  file_.set_attr("/", "vocab_size", header_.vocab_size);
  file_.set_attr("/", "num_classes", static_cast<std::int64_t>(header_.class_names.size()));
  file_.set_attr("/", "class_names", header_.class_names);
  file_.set_attr("/", "checksum", checksum_hex(summary.checksum));
  return summary;
}

}  // namespace engine::io
