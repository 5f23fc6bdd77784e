// --mlflow URI: the run as an MLflow run: every configuration value as a param, every scalar as
// a metric with its step and timestamp, tags (run name, user, source, parent run), and at the
// end the report, plots, configuration, curves and best checkpoint as artifacts. The run id is
// kept in RUN_DIR/mlflow.json, so a resumed training run continues the same MLflow run.
#pragma once

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "tracking/mlflow_store.h"
#include "tracking/sink.h"

namespace engine::tracking {

struct MlflowOptions {
  std::string uri;
  std::string experiment = "engine";
  std::string run_name;       // default: the run directory's name
  std::string parent_run_id;  // makes this a child run (engine_tune's trials)
};

class MlflowSink final : public Sink {
 public:
  MlflowSink(MlflowOptions options, std::string run_dir);
  ~MlflowSink() override;

  void start(const nlohmann::json& config, std::int64_t steps_done) override;
  void scalars(std::int64_t step, std::span<const Scalar> values) override;
  void finish(RunStatus status, const std::string& run_dir) override;

 private:
  void flush();

  MlflowOptions options_;
  std::string run_dir_;
  std::unique_ptr<MlflowStore> store_;
  std::string experiment_id_, run_id_;
  std::vector<MlflowMetric> pending_;
  std::chrono::steady_clock::time_point last_flush_;
};

}  // namespace engine::tracking
