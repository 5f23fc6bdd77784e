// Training checkpoints in HDF5, self-describing: engine_eval needs nothing but the file and
// the data. Layout (format version 1):
//   /model/<tensor name>   float32 tensors with their shapes (PyTorch state_dict names)
//   /optimizer/first, /optimizer/second   flat moment arenas (attribute: steps)
//   /loader/excluded       examples of the current epoch used before the loader's plan began
//                          (non-empty after resuming on another number of ranks)
//   root attributes: format, format_version, model_config and train_config (JSON), class_names,
//                    dataset_fingerprint, progress (JSON: step, epoch, loader position, the
//                    running epoch sums, early-stopping state), checksum
// Files are written to a temporary name and renamed, so a crash never leaves a half file under
// the final name; the checksum catches corruption that still parses.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "engine/model.h"
#include "engine/optimizer.h"

namespace engine {

struct Checkpoint {
  ModelConfig model_config;
  nlohmann::json train_config;
  std::vector<std::string> class_names;
  std::string dataset_fingerprint;
  nlohmann::json progress;    // owned by the trainer
  std::vector<float> values;  // the parameter arena, in the model's slice order
  std::int64_t optimizer_steps = 0;
  std::vector<float> first_moment, second_moment;
  std::vector<std::int64_t> loader_excluded;  // see io::LoaderPosition::excluded
};

void save_checkpoint(const std::string& path, const Model& model, const Optimizer* optimizer,
                     const nlohmann::json& train_config,
                     const std::vector<std::string>& class_names,
                     const std::string& dataset_fingerprint, const nlohmann::json& progress,
                     const std::vector<std::int64_t>& loader_excluded = {});

// Reads and verifies a checkpoint; throws io::DataError naming the file and what is wrong.
Checkpoint load_checkpoint(const std::string& path);

// Copies a checkpoint's parameters into a model built from the same config.
void load_parameters(const Checkpoint& checkpoint, Model& model);

// The newest checkpoint in `dir` ("ckpt-<step>.h5") that loads and verifies; corrupt ones are
// reported through `warn` and skipped. Empty when there is none.
std::optional<std::pair<std::string, Checkpoint>> newest_valid_checkpoint(
    const std::string& dir, const std::function<void(const std::string&)>& warn);

// Deletes all but the newest `keep` "ckpt-<step>.h5" files in `dir` (keep <= 0 keeps all).
void prune_checkpoints(const std::string& dir, int keep);

std::string checkpoint_file_name(std::int64_t step);

}  // namespace engine
