#include "engine/model_config.h"

#include <stdexcept>

#include "engine/enum_names.h"

namespace engine {

namespace {
[[noreturn]] void bad(const std::string& field, const std::string& why) {
  throw std::invalid_argument("model config: " + field + ": " + why);
}

constexpr EnumNames<CellType, 3> kCells{
    "model config: cell",
    {{{CellType::kLstm, "lstm"}, {CellType::kGru, "gru"}, {CellType::kRnn, "rnn"}}}};
constexpr EnumNames<Readout, 3> kReadouts{
    "model config: readout",
    {{{Readout::kLast, "last"}, {Readout::kMean, "mean"}, {Readout::kMax, "max"}}}};
constexpr EnumNames<Activation, 2> kActivations{
    "model config: dense_activation", {{{Activation::kRelu, "relu"}, {Activation::kTanh, "tanh"}}}};
}  // namespace

std::string cell_name(CellType cell) {
  return kCells.name(cell);
}
CellType parse_cell(const std::string& name) {
  return kCells.parse(name);
}
std::string readout_name(Readout readout) {
  return kReadouts.name(readout);
}
Readout parse_readout(const std::string& name) {
  return kReadouts.parse(name);
}
std::string activation_name(Activation activation) {
  return kActivations.name(activation);
}
Activation parse_activation(const std::string& name) {
  return kActivations.parse(name);
}

void ModelConfig::validate() const {
  if (vocab_size < 3) bad("vocab_size", "must be at least 3");
  if (embed < 1) bad("embed", "must be at least 1");
  if (hidden < 1) bad("hidden", "must be at least 1");
  if (layers < 1) bad("layers", "must be at least 1");
  if (dropout < 0.0f || dropout >= 1.0f) bad("dropout", "must be in [0, 1)");
  if (dense_hidden < 0) bad("dense_hidden", "must be >= 0");
  if (classes < 2) bad("classes", "must be at least 2");
  if (label_smoothing < 0.0f || label_smoothing >= 1.0f)
    bad("label_smoothing", "must be in [0, 1)");
  if (!class_weights.empty() && static_cast<int>(class_weights.size()) != classes) {
    bad("class_weights", "has " + std::to_string(class_weights.size()) + " values for " +
                             std::to_string(classes) + " classes");
  }
  for (const float w : class_weights) {
    if (!(w > 0.0f)) bad("class_weights", "values must be positive");
  }
}

nlohmann::json ModelConfig::to_json() const {
  return {{"cell", cell_name(cell)},
          {"vocab_size", vocab_size},
          {"embed", embed},
          {"hidden", hidden},
          {"layers", layers},
          {"bidirectional", bidirectional},
          {"dropout", dropout},
          {"readout", readout_name(readout)},
          {"dense_hidden", dense_hidden},
          {"dense_activation", activation_name(dense_activation)},
          {"classes", classes},
          {"label_smoothing", label_smoothing},
          {"class_weights", class_weights}};
}

ModelConfig ModelConfig::from_json(const nlohmann::json& j) {
  ModelConfig c;
  c.cell = parse_cell(j.at("cell").get<std::string>());
  c.vocab_size = j.at("vocab_size").get<std::int64_t>();
  c.embed = j.at("embed").get<int>();
  c.hidden = j.at("hidden").get<int>();
  c.layers = j.at("layers").get<int>();
  c.bidirectional = j.at("bidirectional").get<bool>();
  c.dropout = j.at("dropout").get<float>();
  c.readout = parse_readout(j.at("readout").get<std::string>());
  c.dense_hidden = j.at("dense_hidden").get<int>();
  c.dense_activation = parse_activation(j.at("dense_activation").get<std::string>());
  c.classes = j.at("classes").get<int>();
  c.label_smoothing = j.at("label_smoothing").get<float>();
  c.class_weights = j.at("class_weights").get<std::vector<float>>();
  c.validate();
  return c;
}

}  // namespace engine
