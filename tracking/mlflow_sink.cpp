#include "tracking/mlflow_sink.h"

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "io/atomic_file.h"

namespace engine::tracking {

namespace fs = std::filesystem;
using nlohmann::json;

namespace {

// Metrics are sent in batches: at most this many waiting, or this long since the last batch.
constexpr std::size_t kBatchMetrics = 500;
constexpr auto kBatchInterval = std::chrono::seconds(5);

}  // namespace

MlflowSink::MlflowSink(MlflowOptions options, std::string run_dir)
    : options_(std::move(options)),
      run_dir_(std::move(run_dir)),
      store_(open_mlflow_store(options_.uri)),
      last_flush_(std::chrono::steady_clock::now()) {}

MlflowSink::~MlflowSink() = default;

void MlflowSink::start(const json& config, std::int64_t steps_done) {
  experiment_id_ = store_->experiment(options_.experiment);
  const fs::path state = fs::path(run_dir_) / "mlflow.json";
  if (steps_done > 0 && fs::exists(state)) {
    std::ifstream in(state);
    const json saved = json::parse(in);
    if (saved.value("uri", "") == options_.uri &&
        saved.value("experiment_id", "") == experiment_id_ &&
        store_->has_run(experiment_id_, saved.value("run_id", ""))) {
      run_id_ = saved["run_id"];
      store_->set_status(run_id_, MlflowRunStatus::running, 0);
      return;
    }
  }
  const std::string name = !options_.run_name.empty()
                               ? options_.run_name
                               : fs::absolute(run_dir_).lexically_normal().filename().string();
  std::map<std::string, std::string> tags = {{"mlflow.runName", name},
                                             {"mlflow.source.name", "engine_train"},
                                             {"mlflow.source.type", "LOCAL"},
                                             {"engine.run_dir", fs::absolute(run_dir_).string()}};
  if (const char* user = std::getenv("USER")) tags["mlflow.user"] = user;
  if (!options_.parent_run_id.empty()) tags["mlflow.parentRunId"] = options_.parent_run_id;
  run_id_ = store_->create_run(experiment_id_, name, mlflow_now_ms(), tags);
  std::map<std::string, std::string> params;
  for (const auto& [key, value] : config.items())
    params[key] = value.is_string() ? value.get<std::string>() : value.dump();
  store_->log_batch(run_id_, {}, params, {});
  io::write_file_atomically(
      state.string(),
      json({{"uri", options_.uri}, {"experiment_id", experiment_id_}, {"run_id", run_id_}})
              .dump(2) +
          "\n");
}

void MlflowSink::scalars(std::int64_t step, std::span<const Scalar> values) {
  const std::int64_t now = mlflow_now_ms();
  for (const Scalar& s : values) pending_.push_back({s.name, s.value, now, step});
  if (pending_.size() >= kBatchMetrics ||
      std::chrono::steady_clock::now() - last_flush_ >= kBatchInterval)
    flush();
}

void MlflowSink::flush() {
  if (!pending_.empty()) store_->log_batch(run_id_, pending_, {}, {});
  pending_.clear();
  last_flush_ = std::chrono::steady_clock::now();
}

void MlflowSink::finish(RunStatus status, const std::string& run_dir) {
  flush();
  const fs::path run(run_dir);
  const auto upload = [&](const fs::path& file, const std::string& artifact_dir) {
    if (fs::exists(file)) store_->log_artifact(run_id_, file.string(), artifact_dir);
  };
  upload(run / "config.yaml", "");
  if (status == RunStatus::finished) {
    for (const char* name : {"report.html", "test_report.json", "curves.csv", "curves.jsonl"})
      upload(run / name, "");
    if (fs::exists(run / "plots")) {
      for (const auto& entry : fs::directory_iterator(run / "plots")) upload(entry.path(), "plots");
    }
    upload(run / "best.h5", "model");
  }
  store_->set_status(run_id_,
                     status == RunStatus::finished ? MlflowRunStatus::finished
                     : status == RunStatus::failed ? MlflowRunStatus::failed
                                                   : MlflowRunStatus::killed,
                     mlflow_now_ms());
}

}  // namespace engine::tracking
