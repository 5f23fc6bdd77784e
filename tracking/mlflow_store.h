// The MLflow tracking operations the engine uses, against either of MLflow's stores:
//   file:PATH (or file:///abs/path)  MLflow's file-store layout, written directly
//                                    (experiments/<id>/meta.yaml, <run>/params, metrics, tags,
//                                    artifacts; MLflow >= 3 reads it with
//                                    MLFLOW_ALLOW_FILE_STORE=true)
//   http://HOST:PORT (or https://)   a tracking server, through MLflow's REST API 2.0 (artifacts
//                                    through the server's mlflow-artifacts proxy)
// Errors throw std::runtime_error naming the store and what failed.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

namespace engine::tracking {

struct MlflowMetric {
  std::string key;
  double value;
  std::int64_t timestamp_ms;
  std::int64_t step;
};

enum class MlflowRunStatus { running, finished, failed, killed };

class MlflowStore {
 public:
  virtual ~MlflowStore() = default;
  // The id of the named experiment, created when it does not exist.
  virtual std::string experiment(const std::string& name) = 0;
  // A new run; returns its id.
  virtual std::string create_run(const std::string& experiment_id, const std::string& run_name,
                                 std::int64_t start_ms,
                                 const std::map<std::string, std::string>& tags) = 0;
  // True when the run exists in this store (a resumed training run continues it).
  virtual bool has_run(const std::string& experiment_id, const std::string& run_id) = 0;
  virtual void log_batch(const std::string& run_id, const std::vector<MlflowMetric>& metrics,
                         const std::map<std::string, std::string>& params,
                         const std::map<std::string, std::string>& tags) = 0;
  // Copies a local file into the run's artifacts under `artifact_dir` ("" for the top).
  virtual void log_artifact(const std::string& run_id, const std::string& local_path,
                            const std::string& artifact_dir) = 0;
  virtual void set_status(const std::string& run_id, MlflowRunStatus status,
                          std::int64_t end_ms) = 0;
};

// The store a --mlflow URI names; throws std::invalid_argument for an unknown scheme.
std::unique_ptr<MlflowStore> open_mlflow_store(const std::string& uri);

std::unique_ptr<MlflowStore> open_mlflow_file_store(const std::string& root);
std::unique_ptr<MlflowStore> open_mlflow_rest_store(const std::string& base_url);

// A random 32-hex-digit id, as MLflow's run ids.
std::string new_mlflow_run_id();

// Milliseconds since the Unix epoch: MLflow's timestamps.
std::int64_t mlflow_now_ms();

}  // namespace engine::tracking
