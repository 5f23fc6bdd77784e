#include "engine/checkpoint.h"

#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <regex>

#include "io/data_error.h"
#include "io/dataset_format.h"
#include "io/hdf5_file.h"

namespace engine {

namespace fs = std::filesystem;
using io::DataError;

namespace {

constexpr std::string_view kFormat = "rnn-engine-checkpoint";
constexpr std::int64_t kFormatVersion = 1;

// Checksum of float arrays through their bit patterns (reuses the shard checksum's mixing).
std::string checksum_of(const std::vector<const std::vector<float>*>& arrays) {
  io::ShardChecksum sum;
  for (const auto* array : arrays) {
    std::vector<std::int32_t> bits(array->size());
    std::memcpy(bits.data(), array->data(), array->size() * sizeof(float));
    sum.add(bits, static_cast<std::int32_t>(array->size()));
  }
  return io::checksum_hex(sum.value());
}

}  // namespace

std::string checkpoint_file_name(std::int64_t step) {
  char name[48];
  std::snprintf(name, sizeof name, "ckpt-%09lld.h5", static_cast<long long>(step));
  return name;
}

void save_checkpoint(const std::string& path, const Model& model, const Optimizer* optimizer,
                     const nlohmann::json& train_config,
                     const std::vector<std::string>& class_names,
                     const std::string& dataset_fingerprint, const nlohmann::json& progress,
                     const std::vector<std::int64_t>& loader_excluded) {
  const std::string tmp = path + ".tmp." + std::to_string(::getpid());
  try {
    auto file = io::h5::File::create(tmp);
    const ParameterArena& params = model.parameters();
    file.create_group("/model");
    for (std::size_t p = 0; p < params.slices().size(); ++p) {
      const ParameterSlice& slice = params.slice(p);
      file.write<float>("/model/" + slice.name,
                        std::span<const float>(params.value(p), slice.size));
      std::vector<std::string> shape;
      for (const auto d : slice.shape) shape.push_back(std::to_string(d));
      file.set_attr("/model/" + slice.name, "shape", shape);
    }
    std::vector<float> first, second;
    file.create_group("/optimizer");
    if (optimizer != nullptr) {
      first.assign(optimizer->first_moment().begin(), optimizer->first_moment().end());
      second.assign(optimizer->second_moment().begin(), optimizer->second_moment().end());
      file.set_attr("/optimizer", "steps", optimizer->steps());
      file.set_attr("/optimizer", "kind", optimizer_name(optimizer->config().kind));
    }
    file.write<float>("/optimizer/first", first);
    file.write<float>("/optimizer/second", second);
    file.create_group("/loader");
    file.write<std::int64_t>("/loader/excluded", loader_excluded);
    const std::vector<float> values(params.values().begin(), params.values().end());
    file.set_attr("/", "format", std::string(kFormat));
    file.set_attr("/", "format_version", kFormatVersion);
    file.set_attr("/", "model_config", model.config().to_json().dump());
    file.set_attr("/", "train_config", train_config.dump());
    file.set_attr("/", "class_names", class_names);
    file.set_attr("/", "dataset_fingerprint", dataset_fingerprint);
    file.set_attr("/", "progress", progress.dump());
    file.set_attr("/", "checksum", checksum_of({&values, &first, &second}));
  } catch (...) {
    std::error_code ignored;
    fs::remove(tmp, ignored);
    throw;
  }
  fs::rename(tmp, path);
}

Checkpoint load_checkpoint(const std::string& path) {
  const auto file = io::h5::File::open_read(path);
  if (file.attr_string("/", "format") != kFormat)
    throw DataError(path + ": not an rnn-engine checkpoint");
  const auto version = file.attr_int("/", "format_version");
  if (version != kFormatVersion) {
    throw DataError(path + ": checkpoint format_version " + std::to_string(version) +
                    " is not supported");
  }
  Checkpoint c;
  try {
    c.model_config =
        ModelConfig::from_json(nlohmann::json::parse(file.attr_string("/", "model_config")));
    c.train_config = nlohmann::json::parse(file.attr_string("/", "train_config"));
    c.progress = nlohmann::json::parse(file.attr_string("/", "progress"));
  } catch (const std::exception& e) {
    throw DataError(path + ": bad configuration in checkpoint: " + e.what());
  }
  c.class_names = file.attr_strings("/", "class_names");
  c.dataset_fingerprint = file.attr_string("/", "dataset_fingerprint");
  // Parameters in the order the model registers them, with their shapes checked.
  const Model reference(c.model_config);
  for (const ParameterSlice& slice : reference.parameters().slices()) {
    const std::string name = "/model/" + slice.name;
    if (!file.has(name)) throw DataError(path + ": missing tensor " + slice.name);
    if (file.length(name) != slice.size) {
      throw DataError(path + ": tensor " + slice.name + " has " +
                      std::to_string(file.length(name)) + " values, the model needs " +
                      std::to_string(slice.size));
    }
    const auto values = file.read<float>(name);
    c.values.insert(c.values.end(), values.begin(), values.end());
  }
  c.loader_excluded = file.read<std::int64_t>("/loader/excluded");
  c.first_moment = file.read<float>("/optimizer/first");
  c.second_moment = file.read<float>("/optimizer/second");
  if (!c.first_moment.empty()) c.optimizer_steps = file.attr_int("/optimizer", "steps");
  if (checksum_of({&c.values, &c.first_moment, &c.second_moment}) !=
      file.attr_string("/", "checksum")) {
    throw DataError(path + ": checksum mismatch (the file is corrupt)");
  }
  return c;
}

void load_parameters(const Checkpoint& checkpoint, Model& model) {
  auto values = model.parameters().values();
  if (values.size() != checkpoint.values.size()) {
    throw DataError("checkpoint has " + std::to_string(checkpoint.values.size()) +
                    " parameters, the model " + std::to_string(values.size()));
  }
  std::copy(checkpoint.values.begin(), checkpoint.values.end(), values.begin());
}

namespace {

std::vector<std::pair<std::int64_t, fs::path>> list_checkpoints(const std::string& dir) {
  std::vector<std::pair<std::int64_t, fs::path>> found;
  if (!fs::is_directory(dir)) return found;
  static const std::regex kName(R"(ckpt-(\d+)\.h5)");
  for (const auto& entry : fs::directory_iterator(dir)) {
    std::smatch match;
    const std::string name = entry.path().filename().string();
    if (std::regex_match(name, match, kName))
      found.emplace_back(std::stoll(match[1]), entry.path());
  }
  std::sort(found.begin(), found.end(),
            [](const auto& a, const auto& b) { return a.first > b.first; });
  return found;
}

}  // namespace

std::optional<std::pair<std::string, Checkpoint>> newest_valid_checkpoint(
    const std::string& dir, const std::function<void(const std::string&)>& warn) {
  for (const auto& [step, path] : list_checkpoints(dir)) {
    try {
      return std::make_pair(path.string(), load_checkpoint(path.string()));
    } catch (const std::exception& e) {
      warn(std::string("[checkpoint] skipping unreadable checkpoint: ") + e.what());
    }
  }
  return std::nullopt;
}

void prune_checkpoints(const std::string& dir, int keep) {
  if (keep <= 0) return;
  const auto found = list_checkpoints(dir);
  for (std::size_t i = static_cast<std::size_t>(keep); i < found.size(); ++i)
    fs::remove(found[i].second);
}

}  // namespace engine
