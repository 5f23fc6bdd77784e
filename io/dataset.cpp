#include "io/dataset.h"

#include <filesystem>
#include <fstream>

#include "io/data_error.h"
#include "io/dataset_format.h"
#include "io/hdf5_file.h"

namespace engine::io {

namespace fs = std::filesystem;
using nlohmann::json;

bool DatasetInfo::has_split(const std::string& name) const {
  for (const auto& s : splits) {
    if (s.name == name) return true;
  }
  return false;
}

const SplitInfo& DatasetInfo::split(const std::string& name) const {
  for (const auto& s : splits) {
    if (s.name == name) return s;
  }
  std::string present;
  for (const auto& s : splits) present += (present.empty() ? "" : ", ") + s.name;
  throw DataError(dir + ": dataset has no '" + name + "' split (it has: " + present + ")");
}

std::string DatasetInfo::fingerprint() const {
  ShardChecksum combined;
  for (const auto& s : splits) {
    for (const auto& shard : s.shards) {
      const std::uint64_t value = std::stoull(shard.checksum, nullptr, 16);
      const std::int32_t words[2] = {static_cast<std::int32_t>(value >> 32),
                                     static_cast<std::int32_t>(value & 0xffffffffU)};
      combined.add(words, static_cast<std::int32_t>(shard.num_examples));
    }
  }
  return checksum_hex(combined.value());
}

json DatasetInfo::to_json() const {
  json out{{"format", kDatasetFormat},
           {"format_version", kDatasetFormatVersion},
           {"vocab_size", vocab_size},
           {"num_classes", num_classes()},
           {"class_names", class_names},
           {"pad_id", 0},
           {"unk_id", 1},
           {"vocab_file", "vocab.h5"},
           {"splits", json::object()},
           {"prep", prep}};
  for (const auto& s : splits) {
    json shards = json::array();
    for (const auto& shard : s.shards) {
      shards.push_back({{"file", shard.file},
                        {"num_examples", shard.num_examples},
                        {"num_tokens", shard.num_tokens},
                        {"checksum", shard.checksum}});
    }
    out["splits"][s.name] = {
        {"num_examples", s.num_examples}, {"num_tokens", s.num_tokens}, {"shards", shards}};
  }
  out["fingerprint"] = fingerprint();
  return out;
}

DatasetInfo DatasetInfo::from_json(const json& manifest, const std::string& dir) {
  const std::string where = dir + "/manifest.json";
  try {
    if (manifest.at("format").get<std::string>() != kDatasetFormat) {
      throw DataError(where + ": not an rnn-engine dataset manifest");
    }
    const auto version = manifest.at("format_version").get<std::int64_t>();
    if (version != kDatasetFormatVersion) {
      throw DataError(where + ": format_version " + std::to_string(version) +
                      " is not supported (this build reads version " +
                      std::to_string(kDatasetFormatVersion) + ")");
    }
    DatasetInfo info;
    info.dir = dir;
    info.vocab_size = manifest.at("vocab_size").get<std::int64_t>();
    info.class_names = manifest.at("class_names").get<std::vector<std::string>>();
    info.prep = manifest.value("prep", json::object());
    for (const auto& [name, entry] : manifest.at("splits").items()) {
      SplitInfo split{name,
                      entry.at("num_examples").get<std::int64_t>(),
                      entry.at("num_tokens").get<std::int64_t>(),
                      {}};
      for (const auto& shard : entry.at("shards")) {
        split.shards.push_back(
            {shard.at("file").get<std::string>(), shard.at("num_examples").get<std::int64_t>(),
             shard.at("num_tokens").get<std::int64_t>(), shard.at("checksum").get<std::string>()});
      }
      info.splits.push_back(std::move(split));
    }
    if (info.vocab_size < 2 || info.class_names.empty()) {
      throw DataError(where + ": vocab_size and class_names must be present and non-empty");
    }
    return info;
  } catch (const json::exception& e) {
    throw DataError(where + ": malformed manifest: " + e.what());
  }
}

DatasetInfo DatasetInfo::load(const std::string& dir) {
  const std::string path = dir + "/manifest.json";
  std::ifstream in(path);
  if (!in) {
    throw DataError(path + ": cannot open (is '" + dir + "' a dataset made by engine_prep?)");
  }
  json manifest;
  try {
    manifest = json::parse(in);
  } catch (const json::exception& e) {
    throw DataError(path + ": not valid JSON: " + e.what());
  }
  return from_json(manifest, dir);
}

namespace {

void expect(bool ok, const std::string& where, const std::string& what) {
  if (!ok) throw DataError(where + ": " + what);
}

// Appends one shard to `out`, checking it against the manifest entry and the dataset bounds.
void append_shard(const DatasetInfo& info, const std::string& split, const ShardInfo& shard,
                  SplitData& out) {
  const std::string path = (fs::path(info.dir) / shard.file).string();
  const auto file = h5::File::open_read(path);
  expect(file.attr_string("/", "format") == kShardFormat, path, "not an rnn-engine shard");
  expect(file.attr_int("/", "format_version") == kDatasetFormatVersion, path,
         "unsupported shard format_version");
  expect(file.attr_string("/", "split") == split, path, "shard belongs to another split");
  expect(file.attr_int("/", "vocab_size") == info.vocab_size, path,
         "vocab_size differs from the manifest");
  expect(file.attr_int("/", "num_classes") == info.num_classes(), path,
         "num_classes differs from the manifest");

  const std::size_t n = file.length("/labels");
  const std::size_t n_tokens = file.length("/tokens");
  expect(static_cast<std::int64_t>(n) == shard.num_examples, path,
         "/labels has " + std::to_string(n) + " examples, manifest says " +
             std::to_string(shard.num_examples));
  expect(static_cast<std::int64_t>(n_tokens) == shard.num_tokens, path,
         "/tokens has " + std::to_string(n_tokens) + " tokens, manifest says " +
             std::to_string(shard.num_tokens));
  expect(file.length("/offsets") == n + 1, path, "/offsets must have num_examples + 1 entries");

  const auto offsets = file.read<std::int64_t>("/offsets");
  const auto labels = file.read<std::int32_t>("/labels");
  expect(offsets.front() == 0, path, "/offsets[0] must be 0");
  expect(offsets.back() == static_cast<std::int64_t>(n_tokens), path,
         "/offsets does not end at the token count");
  for (std::size_t i = 0; i < n; ++i) {
    if (offsets[i + 1] <= offsets[i]) {
      throw DataError(path + ": /offsets[" + std::to_string(i + 1) +
                      "]: sequences must be non-empty and offsets increasing");
    }
    if (labels[i] < 0 || labels[i] >= info.num_classes()) {
      throw DataError(path + ": /labels[" + std::to_string(i) + "] = " + std::to_string(labels[i]) +
                      " is outside 0.." + std::to_string(info.num_classes() - 1));
    }
  }

  const std::size_t token_base = out.tokens.size();
  out.tokens.resize(token_base + n_tokens);
  file.read_range<std::int32_t>("/tokens", 0, std::span(out.tokens).subspan(token_base));
  ShardChecksum checksum;
  for (std::size_t i = 0; i < n; ++i) {
    const std::span<const std::int32_t> sequence(
        out.tokens.data() + token_base + offsets[i],
        static_cast<std::size_t>(offsets[i + 1] - offsets[i]));
    for (const std::int32_t token : sequence) {
      if (token <= 0 || token >= info.vocab_size) {
        throw DataError(path + ": example " + std::to_string(i) + " holds token id " +
                        std::to_string(token) + " outside 1.." +
                        std::to_string(info.vocab_size - 1));
      }
    }
    checksum.add(sequence, labels[i]);
  }
  expect(checksum_hex(checksum.value()) == shard.checksum, path,
         "checksum mismatch: the shard is corrupt or not the one the manifest lists");

  const std::int64_t offset_base = static_cast<std::int64_t>(token_base);
  for (std::size_t i = 1; i <= n; ++i) out.offsets.push_back(offset_base + offsets[i]);
  out.labels.insert(out.labels.end(), labels.begin(), labels.end());
}

}  // namespace

SplitData load_split(const DatasetInfo& info, const std::string& split) {
  const SplitInfo& entry = info.split(split);
  SplitData data;
  data.tokens.reserve(static_cast<std::size_t>(entry.num_tokens));
  data.labels.reserve(static_cast<std::size_t>(entry.num_examples));
  data.offsets.reserve(static_cast<std::size_t>(entry.num_examples) + 1);
  data.offsets.push_back(0);
  for (const auto& shard : entry.shards) append_shard(info, split, shard, data);
  if (static_cast<std::int64_t>(data.size()) != entry.num_examples) {
    throw DataError(info.dir + "/manifest.json: split '" + split + "' lists " +
                    std::to_string(entry.num_examples) + " examples but its shards hold " +
                    std::to_string(data.size()));
  }
  return data;
}

}  // namespace engine::io
