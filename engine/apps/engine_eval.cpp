// engine_eval: evaluates a checkpoint on a split of a dataset: accuracy, per-class precision /
// recall / F1 / support, macro and weighted averages and the confusion matrix, as tables and
// JSON (--out DIR/report.json; the report has a top-level "accuracy"), plus the plots and
// report.html of tracking/report.h. --device cuda evaluates on the GPU (the trainer's device
// path). By default it evaluates as the trainer did: the checkpoint's batch size and, on the
// GPU, its precision and RNN implementation, so the report reproduces the trainer's own (fp16
// and cuDNN round differently at another batch size or precision).
#include <CLI/CLI.hpp>
#include <cstdio>
#include <filesystem>
#include <optional>

#include "engine/checkpoint.h"
#include "engine/evaluate.h"
#include "engine/model_runner.h"
#include "io/atomic_file.h"
#include "io/dataset.h"
#include "tracking/report.h"

int main(int argc, char** argv) {
  CLI::App app{"Evaluate a checkpoint made by engine_train on a dataset split."};
  std::string checkpoint_path, data, split = "test", out;
  std::optional<std::size_t> batch_size;
  int threads = 1;
  std::string device = "cpu", precision, rnn_impl;  // empty: as the checkpoint was trained
  app.add_option("--checkpoint", checkpoint_path, "Checkpoint (.h5) from engine_train")
      ->required()
      ->check(CLI::ExistingFile);
  app.add_option("--data", data, "Dataset directory made by engine_prep")->required();
  app.add_option("--split", split, "test, valid or train")
      ->capture_default_str()
      ->check(CLI::IsMember({"test", "valid", "train"}));
  app.add_option("--out", out, "Directory for report.json (default: print only)");
  app.add_option("--batch-size", batch_size,
                 "Examples per forward pass (default: the checkpoint's training batch size)");
  app.add_option("--threads", threads, "CPU threads (each evaluates a slice of every batch)")
      ->capture_default_str();
  app.add_option("--device", device, "cpu or cuda")
      ->capture_default_str()
      ->check(CLI::IsMember({"cpu", "cuda"}));
  app.add_option("--precision", precision,
                 "fp32, fp16 or tf32 (fp16, tf32: --device cuda; default: fp32 on the CPU, the "
                 "checkpoint's on the GPU)")
      ->check(CLI::IsMember({"fp32", "fp16", "tf32"}));
  app.add_option("--rnn-impl", rnn_impl,
                 "custom or cudnn on --device cuda (default: the checkpoint's)")
      ->check(CLI::IsMember({"custom", "cudnn"}));
  CLI11_PARSE(app, argc, argv);
  try {
    engine::TrainConfig runtime;  // what picks the runner: device and threads
    runtime.device = device;
    runtime.threads = threads;
    engine::check_device(runtime);
    const engine::Checkpoint checkpoint = engine::load_checkpoint(checkpoint_path);
    const nlohmann::json& trained = checkpoint.train_config;  // older checkpoints lack keys
    if (device == "cuda") {
      runtime.precision = precision.empty() ? trained.value("precision", "fp32") : precision;
      runtime.rnn_impl = rnn_impl.empty() ? trained.value("rnn_impl", "custom") : rnn_impl;
    } else if ((!precision.empty() && precision != "fp32") || !rnn_impl.empty()) {
      throw std::runtime_error("--precision fp16|tf32 and --rnn-impl need --device cuda");
    }
    if (!batch_size) batch_size = trained.value("batch_size", std::size_t{128});
    std::printf("batch size %zu, %s", *batch_size, device.c_str());
    if (device == "cuda")
      std::printf(", %s, %s recurrent layers", runtime.precision.c_str(), runtime.rnn_impl.c_str());
    std::printf("\n");
    const auto dataset = engine::io::DatasetInfo::load(data);
    if (dataset.vocab_size != checkpoint.model_config.vocab_size ||
        dataset.num_classes() != checkpoint.model_config.classes) {
      throw std::runtime_error(data + ": vocabulary or classes differ from the checkpoint's (" +
                               std::to_string(checkpoint.model_config.vocab_size) + " tokens, " +
                               std::to_string(checkpoint.model_config.classes) + " classes)");
    }
    if (dataset.fingerprint() != checkpoint.dataset_fingerprint) {
      std::fprintf(stderr, "warning: %s is not the dataset the checkpoint was trained on\n",
                   data.c_str());
    }
    const auto single = engine::comm::make_single_process();
    const auto runner = engine::make_model_runner(runtime, checkpoint.model_config, *single,
                                                  [](const std::string&) {});
    engine::load_parameters(checkpoint, runner->host_model());
    runner->push();
    const auto split_data =
        std::make_shared<const engine::io::SplitData>(engine::io::load_split(dataset, split));
    const auto result = engine::evaluate_split(*runner, split_data, *batch_size);
    std::printf("%s split of %s, checkpoint %s\n%s", split.c_str(), data.c_str(),
                checkpoint_path.c_str(), result.confusion.table(checkpoint.class_names).c_str());
    std::printf("loss %.4f\n", result.loss);
    if (!out.empty()) {
      auto report = result.confusion.report(checkpoint.class_names);
      report["loss"] = result.loss;
      report["split"] = split;
      report["checkpoint"] = std::filesystem::absolute(checkpoint_path).string();
      report["data"] = std::filesystem::absolute(data).string();
      std::filesystem::create_directories(out);
      engine::io::write_file_atomically(out + "/report.json", report.dump(2) + "\n");
      engine::tracking::write_report(out, {.title = "Evaluation of " + checkpoint_path +
                                                    " on the " + split + " split of " + data,
                                           .config = checkpoint.train_config,
                                           .curves = {},
                                           .steps = {},
                                           .evaluation = report});
      std::printf("report: %s/report.json, %s/report.html\n", out.c_str(), out.c_str());
    }
  } catch (const std::exception& e) {
    std::fprintf(stderr, "engine_eval: error: %s\n", e.what());
    return 1;
  }
  return 0;
}
