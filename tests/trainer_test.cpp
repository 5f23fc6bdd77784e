// The training loop end to end on small prepared datasets: exact resume, early stopping,
// checkpoints that verify, the YAML configuration, engine_eval's report.
#include "engine/trainer.h"

#include <gtest/gtest.h>

#include <CLI/CLI.hpp>
#include <filesystem>
#include <sstream>

#include "engine/checkpoint.h"
#include "engine/cpu_backend.h"
#include "engine/device_runner.h"
#include "engine/model_runner.h"
#include "io/data_error.h"
#include "test_util.h"
#include "train_fixtures.h"

namespace engine {
namespace {

namespace fs = std::filesystem;
using test::kQuiet;
using test::make_dataset;
using test::small_run;

class TrainerResume : public testing::TestWithParam<int> {};

TEST_P(TrainerResume, GivesBitIdenticalLossesAndParameters) {
  test::ScratchDir dir;
  const std::string data = make_dataset(dir);
  // Uninterrupted.
  TrainConfig straight = small_run(data, dir.file("straight"));
  straight.threads = GetParam();
  train(straight, kQuiet, kQuiet);
  // Interrupted mid-epoch after step 7 (as on a pre-emption signal), then resumed.
  TrainConfig first = small_run(data, dir.file("resumed"));
  first.threads = GetParam();
  first.checkpoint_every = 5;
  const auto partial = train(first, kQuiet, kQuiet, [](std::int64_t step) { return step == 7; });
  EXPECT_TRUE(partial.interrupted);
  EXPECT_EQ(partial.steps, 7);
  TrainConfig second = small_run(data, dir.file("resumed"));
  second.threads = GetParam();
  second.checkpoint_every = 5;
  second.resume = "auto";
  const auto finished = train(second, kQuiet, kQuiet);
  EXPECT_EQ(finished.epochs_completed, 2);

  const std::string a = test::read_file(dir.file("straight/steps.jsonl"));
  const std::string b = test::read_file(dir.file("resumed/steps.jsonl"));
  ASSERT_FALSE(a.empty());
  EXPECT_EQ(a, b) << "per-step losses differ after resume";
  const auto last = [](const std::string& run) {
    std::vector<std::pair<std::int64_t, fs::path>> found;
    for (const auto& e : fs::directory_iterator(run + "/checkpoints"))
      found.emplace_back(0, e.path());
    std::sort(found.begin(), found.end(),
              [](const auto& x, const auto& y) { return x.second > y.second; });
    return load_checkpoint(found.front().second.string()).values;
  };
  EXPECT_EQ(last(dir.file("straight")), last(dir.file("resumed")));
}

INSTANTIATE_TEST_SUITE_P(Threads, TrainerResume, testing::Values(1, 2));

// The --device cuda training path (DeviceRunner: device optimizer state, fp16 with dynamic loss
// scaling) driven by the real trainer, on the CPU backend: it logs the loss scale and
// the skipped steps, checkpoints the scaler, and resumes bit-identically. (That it trains as the
// CPU path does is device_runner_test's.)
TEST(Trainer, DevicePathWithMixedPrecisionResumesExactly) {
  test::ScratchDir dir;
  const std::string data = make_dataset(dir);
  TrainHooks hooks;
  hooks.make_runner = [](const ModelConfig& model_config) {
    auto runner = std::make_unique<DeviceRunner>(model_config, small_run("", "").optimizer_config(),
                                                 make_cpu_backend(Precision::kFp16));
    runner->set_scaler(LossScaler({.init_scale = 1048576.0f}));  // overflows at first
    return runner;
  };
  TrainConfig straight = small_run(data, dir.file("straight"));
  train(straight, kQuiet, kQuiet, {}, nullptr, hooks);

  TrainConfig first = small_run(data, dir.file("resumed"));
  first.checkpoint_every = 5;
  const auto partial = train(
      first, kQuiet, kQuiet, [](std::int64_t step) { return step == 7; }, nullptr, hooks);
  EXPECT_TRUE(partial.interrupted);
  TrainConfig second = first;
  second.resume = "auto";
  train(second, kQuiet, kQuiet, {}, nullptr, hooks);

  const std::string a = test::read_file(dir.file("straight/steps.jsonl"));
  EXPECT_EQ(a, test::read_file(dir.file("resumed/steps.jsonl")));
  EXPECT_NE(a.find("\"skipped\":true"), std::string::npos) << a.substr(0, 400);
  EXPECT_NE(a.find("\"loss_scale\":1048576"), std::string::npos);
  EXPECT_NE(a.find("\"loss_scale\":262144"), std::string::npos);
  const Checkpoint last = load_checkpoint(dir.file("straight/best.h5"));
  EXPECT_TRUE(last.progress.contains("loss_scaler")) << last.progress.dump();
}

TEST(Trainer, CorruptNewestCheckpointFallsBackToThePreviousOne) {
  test::ScratchDir dir;
  const std::string data = make_dataset(dir, 300);
  TrainConfig c = small_run(data, dir.file("run"));
  c.checkpoint_every = 3;
  c.max_steps = 6;
  c.keep_last = 0;
  train(c, kQuiet, kQuiet);
  const std::string newest = dir.file("run/checkpoints/" + checkpoint_file_name(6));
  const std::string bytes = test::read_file(newest);
  test::write_file(newest, bytes.substr(0, bytes.size() * 2 / 3));
  EXPECT_THROW(load_checkpoint(newest), io::DataError);
  std::vector<std::string> warnings;
  const auto found = newest_valid_checkpoint(dir.file("run/checkpoints"),
                                             [&](const std::string& w) { warnings.push_back(w); });
  ASSERT_TRUE(found.has_value());
  EXPECT_EQ(found->first, dir.file("run/checkpoints/" + checkpoint_file_name(3)));
  ASSERT_EQ(warnings.size(), 1u);
  EXPECT_NE(warnings[0].find(newest), std::string::npos) << warnings[0];
}

TEST(Trainer, EarlyStoppingAndExistingRunProtection) {
  test::ScratchDir dir;
  const std::string data = make_dataset(dir, 300);
  TrainConfig c = small_run(data, dir.file("run"));
  c.lr = 1e-12;  // nothing improves after the first validation
  c.schedule = "constant";
  c.warmup_steps = 0;
  c.epochs = 10;
  c.patience = 1;
  c.early_stop_metric = "valid_loss";
  const auto outcome = train(c, kQuiet, kQuiet);
  EXPECT_TRUE(outcome.stopped_early);
  EXPECT_EQ(outcome.epochs_completed, 2);
  EXPECT_TRUE(fs::exists(dir.file("run/best.h5")));
  EXPECT_TRUE(fs::exists(dir.file("run/test_report.json")));
  EXPECT_TRUE(fs::exists(dir.file("run/curves.csv")));
  // The same --out without --resume would mix two runs: refused.
  EXPECT_THROW(train(c, kQuiet, kQuiet), std::runtime_error);
}

TEST(TrainConfig, YamlFileWithFlagsOverriding) {
  test::ScratchDir dir;
  const std::string yaml =
      test::write_file(dir.file("hp.yaml"),
                       "hidden: 32\nbatch_size: 8\ncell: gru\nbidirectional: true\n"
                       "class-weights: [1, 2, 0.5]\n");
  const auto parse = [&](std::vector<std::string> args, TrainConfig& config) {
    CLI::App app;
    add_train_options(app, config);
    args.insert(args.begin(), "engine_train");
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    int code = 0;
    return parse_train_args(app, config, static_cast<int>(argv.size()), argv.data(), code);
  };
  TrainConfig config;
  ASSERT_TRUE(parse({"--data", "d", "--out", "o", "--config", yaml, "--hidden", "16"}, config));
  EXPECT_EQ(config.hidden, 16);  // the flag wins
  EXPECT_EQ(config.batch_size, 8u);
  EXPECT_EQ(config.cell, "gru");
  EXPECT_TRUE(config.bidirectional);
  EXPECT_EQ(config.class_weights, (std::vector<float>{1, 2, 0.5f}));
  EXPECT_NE(config.to_yaml().find("hidden: 16"), std::string::npos);

  test::write_file(dir.file("bad.yaml"), "hiden: 3\n");
  TrainConfig other;
  testing::internal::CaptureStderr();
  testing::internal::CaptureStdout();
  EXPECT_FALSE(parse({"--data", "d", "--out", "o", "--config", dir.file("bad.yaml")}, other));
  const std::string said =
      testing::internal::GetCapturedStderr() + testing::internal::GetCapturedStdout();
  EXPECT_NE(said.find("unknown option 'hiden'"), std::string::npos) << said;
}

// Mixed precision and TF32 belong to the GPU, where every cell runs on either implementation.
TEST(TrainConfig, PrecisionAndRnnImplementationAreChecked) {
  TrainConfig c;
  c.data = "d";
  c.out = "o";
  c.validate();
  c.precision = "fp16";
  try {
    c.validate();
    FAIL() << "no error";
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find("--precision: fp16 needs --device cuda"),
              std::string::npos)
        << e.what();
  }
  c.precision = "tf32";
  try {
    c.validate();
    FAIL() << "no error";
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find("--precision: tf32 needs --device cuda"),
              std::string::npos)
        << e.what();
  }
  c.device = "cuda";
  c.validate();
  c.precision = "fp16";
  c.validate();
  c.cell = "rnn";
  c.rnn_impl = "cudnn";  // cuDNN's tanh RNN
  c.validate();
  EXPECT_NE(c.to_yaml().find("precision: fp16"), std::string::npos);
}

// A GPU requested where none can be used is a clear error before anything is written.
// Where no GPU can be used, --device cuda is a clear error that leaves nothing behind; where one
// can, the same small job trains on it and writes its checkpoint and report.
TEST(Trainer, DeviceCudaTrainsOrIsAClearError) {
  test::ScratchDir dir;
  TrainConfig c = small_run(make_dataset(dir, 300), dir.file("run"));
  c.device = "cuda";
  bool gpu = true;
  try {
    check_device(c);
  } catch (const std::runtime_error&) {
    gpu = false;
  }
  if (gpu) {
    train(c, kQuiet, kQuiet);
    EXPECT_TRUE(fs::exists(dir.file("run/best.h5")));
    EXPECT_TRUE(fs::exists(dir.file("run/test_report.json")));
    return;
  }
  try {
    train(c, kQuiet, kQuiet);
    FAIL() << "no error";
  } catch (const std::runtime_error& e) {
    EXPECT_EQ(std::string(e.what()).rfind("--device cuda: ", 0), 0u) << e.what();
    EXPECT_NE(std::string(e.what()).find("use --device cpu"), std::string::npos) << e.what();
  }
  EXPECT_FALSE(fs::exists(dir.file("run")));
}

TEST(EngineEval, ReportMatchesTheTrainersTestReport) {
  test::ScratchDir dir;
  const std::string data = make_dataset(dir, 300);
  TrainConfig c = small_run(data, dir.file("run"));
  c.epochs = 1;
  train(c, kQuiet, kQuiet);
  const auto result =
      test::run_command(std::string(ENGINE_BINARY_DIR "/engine/engine_eval --checkpoint ") +
                        dir.file("run/best.h5") + " --data " + data + " --out " + dir.file("eval"));
  ASSERT_EQ(result.exit_code, 0) << result.output;
  const auto report = nlohmann::json::parse(test::read_file(dir.file("eval/report.json")));
  const auto trained = nlohmann::json::parse(test::read_file(dir.file("run/test_report.json")));
  EXPECT_DOUBLE_EQ(report["accuracy"].get<double>(), trained["accuracy"].get<double>());
  EXPECT_EQ(report["confusion_matrix"], trained["confusion_matrix"]);
  EXPECT_NE(result.output.find("macro_avg"), std::string::npos);
  // It evaluated as the trainer did: the checkpoint's batch size unless told otherwise.
  EXPECT_NE(result.output.find("batch size 16, cpu\n"), std::string::npos) << result.output;
  const auto fp16 =
      test::run_command(std::string(ENGINE_BINARY_DIR "/engine/engine_eval --checkpoint ") +
                        dir.file("run/best.h5") + " --data " + data + " --precision fp16");
  EXPECT_NE(fp16.exit_code, 0);
  EXPECT_NE(fp16.output.find("--precision fp16|tf32 and --rnn-impl need --device cuda"),
            std::string::npos)
      << fp16.output;
  // Both write the plots and report.html; the evaluation's has no learning curves.
  for (const char* page : {"run/report.html", "eval/report.html"}) {
    const std::string html = test::read_file(dir.file(page));
    EXPECT_NE(html.find("Per-class metrics"), std::string::npos) << page;
    EXPECT_NE(html.find("<figure id=\"confusion_counts.svg\">"), std::string::npos) << page;
  }
  EXPECT_TRUE(fs::exists(dir.file("run/plots/loss.svg")));
  EXPECT_FALSE(fs::exists(dir.file("eval/plots/loss.svg")));
  const auto missing =
      test::run_command(std::string(ENGINE_BINARY_DIR "/engine/engine_eval --checkpoint ") +
                        dir.file("run/best.h5") + " --data " + dir.file("nope"));
  EXPECT_EQ(missing.exit_code, 1);
  EXPECT_NE(missing.output.find("nope/manifest.json"), std::string::npos) << missing.output;
  const auto no_gpu =
      test::run_command(std::string(ENGINE_BINARY_DIR "/engine/engine_eval --checkpoint ") +
                        dir.file("run/best.h5") + " --data " + data + " --device cuda");
  if (no_gpu.exit_code != 0) {  // where a GPU is present it evaluates; here it must say why not
    EXPECT_EQ(no_gpu.exit_code, 1);
    EXPECT_NE(no_gpu.output.find("--device cuda: "), std::string::npos) << no_gpu.output;
  } else {
    EXPECT_NE(no_gpu.output.find("macro_avg"), std::string::npos) << no_gpu.output;
  }
}

}  // namespace
}  // namespace engine
