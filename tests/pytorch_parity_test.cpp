// Parity with PyTorch (Debian's python3-torch): the same weights and batch through
// tests/pytorch_reference.py, which rebuilds the model from our checkpoint with nn.LSTM /
// nn.GRU / nn.RNN on a packed, unsorted variable-length batch. Per-step outputs, final states,
// logits, loss and every gradient must agree, and so must every parameter after 3 Adam steps.
// Error measure per tensor: max |ours - torch| / max |torch| <= 1e-5 (fp32).
#include <gtest/gtest.h>

#include <filesystem>
#include <nlohmann/json.hpp>

#include "engine/checkpoint.h"
#include "engine/model.h"
#include "engine/optimizer.h"
#include "test_util.h"

namespace engine {
namespace {

constexpr double kTolerance = 1e-5;

bool torch_available() {
  static const bool available =
      test::run_command("/usr/bin/python3 -c 'import torch, h5py'").exit_code == 0;
  return available;
}

void flatten(const nlohmann::json& j, std::vector<double>& out) {
  if (j.is_array()) {
    for (const auto& v : j) flatten(v, out);
  } else {
    out.push_back(j.get<double>());
  }
}

template <typename T>
void expect_close(const std::vector<T>& ours, const nlohmann::json& theirs,
                  const std::string& what) {
  std::vector<double> expected;
  flatten(theirs, expected);
  ASSERT_EQ(ours.size(), expected.size()) << what;
  double scale = 1e-12, error = 0;
  for (std::size_t i = 0; i < ours.size(); ++i) {
    scale = std::max(scale, std::abs(expected[i]));
    error = std::max(error, std::abs(static_cast<double>(ours[i]) - expected[i]));
  }
  EXPECT_LE(error / scale, kTolerance)
      << what << ": max error " << error << " of max magnitude " << scale;
}

struct ParityCase {
  std::string name;
  CellType cell;
  Readout readout;
  int dense_hidden;
  float label_smoothing;
  std::vector<float> class_weights;
};

class PytorchParity : public testing::TestWithParam<ParityCase> {};

TEST_P(PytorchParity, OutputsStatesLogitsLossGradientsAndAdamSteps) {
  if (!torch_available())
    GTEST_SKIP() << "skipped: python3-torch is not installed (bash scripts/setup.sh installs it)";
  const ParityCase& c = GetParam();
  ModelConfig config;
  config.cell = c.cell;
  config.vocab_size = 30;
  config.embed = 6;
  config.hidden = 5;
  config.layers = 2;
  config.bidirectional = true;
  config.readout = c.readout;
  config.dense_hidden = c.dense_hidden;
  config.classes = 4;
  config.label_smoothing = c.label_smoothing;
  config.class_weights = c.class_weights;
  Model model(config);
  model.initialize(17);

  // Unsorted lengths with a tie; labels cover every class.
  io::Batch batch;
  batch.lengths = {4, 9, 1, 6, 9, 3};
  batch.labels = {2, 0, 3, 1, 2, 0};
  batch.rows = batch.lengths.size();
  batch.max_len = 9;
  batch.tokens.assign(batch.rows * batch.max_len, 0);
  for (std::size_t r = 0; r < batch.rows; ++r) {
    for (int t = 0; t < batch.lengths[r]; ++t) {
      batch.tokens[r * batch.max_len + static_cast<std::size_t>(t)] =
          static_cast<std::int32_t>(2 + (r * 7 + static_cast<std::size_t>(t) * 5) % 28);
    }
  }

  test::ScratchDir dir;
  save_checkpoint(dir.file("model.h5"), model, nullptr, nlohmann::json::object(),
                  {"a", "b", "c", "d"}, "", nlohmann::json::object());
  nlohmann::json request;
  std::vector<std::vector<std::int32_t>> tokens(batch.rows);
  for (std::size_t r = 0; r < batch.rows; ++r) {
    tokens[r].assign(batch.tokens.begin() + static_cast<std::ptrdiff_t>(r * batch.max_len),
                     batch.tokens.begin() + static_cast<std::ptrdiff_t>((r + 1) * batch.max_len));
  }
  request["tokens"] = tokens;
  request["lengths"] = batch.lengths;
  request["labels"] = batch.labels;
  request["label_smoothing"] = c.label_smoothing;
  request["class_weights"] =
      c.class_weights.empty() ? nlohmann::json(nullptr) : nlohmann::json(c.class_weights);
  request["adam_lr"] = 0.01;
  request["adam_steps"] = 3;
  test::write_file(dir.file("batch.json"), request.dump());
  const auto run = test::run_command(
      "/usr/bin/python3 " ENGINE_SOURCE_DIR "/tests/pytorch_reference.py " + dir.file("model.h5") +
      " " + dir.file("batch.json") + " " + dir.file("torch.json"));
  ASSERT_EQ(run.exit_code, 0) << run.output;
  const auto torch = nlohmann::json::parse(test::read_file(dir.file("torch.json")));

  model.parameters().zero_grads();
  const StepResult result = model.train_step(batch, 0, 0);
  expect_close(model.logits(), torch["logits"], "logits");
  expect_close(std::vector<double>{result.loss_sum}, nlohmann::json::array({torch["loss_sum"]}),
               "loss");
  expect_close(model.top_outputs(batch.max_len), torch["outputs"], "per-step outputs");
  expect_close(model.final_states(), torch["h_n"], "final states");
  for (std::size_t p = 0; p < model.parameters().slices().size(); ++p) {
    const ParameterSlice& slice = model.parameters().slice(p);
    const std::vector<float> grad(model.parameters().grad(p),
                                  model.parameters().grad(p) + slice.size);
    expect_close(grad, torch["grads"][slice.name], "gradient of " + slice.name);
  }

  Optimizer adam({OptimizerKind::kAdam}, model.parameters().size());
  for (int step = 0; step < 3; ++step) {
    model.parameters().zero_grads();
    model.train_step(batch, 0, 0);
    for (float& g : model.parameters().grads()) g /= static_cast<float>(batch.rows);
    adam.step(model.parameters().values(), model.parameters().grads(), 0.01f);
  }
  for (std::size_t p = 0; p < model.parameters().slices().size(); ++p) {
    const ParameterSlice& slice = model.parameters().slice(p);
    const std::vector<float> value(model.parameters().value(p),
                                   model.parameters().value(p) + slice.size);
    expect_close(value, torch["after_adam"][slice.name], "after 3 Adam steps: " + slice.name);
  }
}

INSTANTIATE_TEST_SUITE_P(
    Models, PytorchParity,
    testing::Values(ParityCase{"lstm_last_smoothing", CellType::kLstm, Readout::kLast, 0, 0.1f, {}},
                    ParityCase{"gru_last_class_weights",
                               CellType::kGru,
                               Readout::kLast,
                               0,
                               0.0f,
                               {1.0f, 2.0f, 0.5f, 1.5f}},
                    ParityCase{"rnn_last", CellType::kRnn, Readout::kLast, 0, 0.0f, {}},
                    ParityCase{"lstm_mean_dense", CellType::kLstm, Readout::kMean, 7, 0.0f, {}},
                    ParityCase{"gru_max", CellType::kGru, Readout::kMax, 0, 0.0f, {}}),
    [](const auto& test_case) { return test_case.param.name; });

}  // namespace
}  // namespace engine
