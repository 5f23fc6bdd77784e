// What a model is: everything needed to rebuild it, stored in every checkpoint so that
// engine_eval needs nothing besides the data.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "layers/recurrent_layer.h"

namespace engine {

enum class Readout { kLast, kMean, kMax };
enum class Activation { kRelu, kTanh };

struct ModelConfig {
  CellType cell = CellType::kLstm;
  std::int64_t vocab_size = 0;
  int embed = 128;
  int hidden = 256;
  int layers = 1;
  bool bidirectional = false;
  float dropout = 0.0f;  // on the embedding output and between recurrent layers
  Readout readout = Readout::kLast;
  int dense_hidden = 0;  // 0: no hidden dense layer before the classifier
  Activation dense_activation = Activation::kRelu;
  int classes = 0;
  float label_smoothing = 0.0f;
  std::vector<float> class_weights;  // empty: all 1

  int directions() const { return bidirectional ? 2 : 1; }
  int feature_size() const { return hidden * directions(); }
  void validate() const;  // throws std::invalid_argument naming the bad field

  nlohmann::json to_json() const;
  static ModelConfig from_json(const nlohmann::json& j);
};

std::string cell_name(CellType cell);
CellType parse_cell(const std::string& name);
std::string readout_name(Readout readout);
Readout parse_readout(const std::string& name);
std::string activation_name(Activation activation);
Activation parse_activation(const std::string& name);

}  // namespace engine
