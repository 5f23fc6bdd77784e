// MLflow's REST API 2.0 (mlflow/server/handlers.py): experiments/get-by-name and create,
// runs/create, get, log-batch and update, and artifact uploads through the server's
// mlflow-artifacts proxy (PUT /api/2.0/mlflow-artifacts/artifacts/<path>).
#include <httplib.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <stdexcept>

#include "tracking/mlflow_store.h"

namespace engine::tracking {

namespace {

using nlohmann::json;

const char* status_name(MlflowRunStatus status) {
  switch (status) {
    case MlflowRunStatus::running:
      return "RUNNING";
    case MlflowRunStatus::finished:
      return "FINISHED";
    case MlflowRunStatus::failed:
      return "FAILED";
    case MlflowRunStatus::killed:
      return "KILLED";
  }
  return "RUNNING";
}

json key_values(const std::map<std::string, std::string>& entries) {
  json list = json::array();
  for (const auto& [key, value] : entries) list.push_back({{"key", key}, {"value", value}});
  return list;
}

class RestStore final : public MlflowStore {
 public:
  explicit RestStore(const std::string& base_url)
      : base_(base_url.substr(0, base_url.find_last_not_of('/') + 1)), client_(base_) {
    client_.set_connection_timeout(10);
    client_.set_read_timeout(60);
    client_.set_write_timeout(60);
  }

  std::string experiment(const std::string& name) override {
    const auto found = get("/api/2.0/mlflow/experiments/get-by-name", {{"experiment_name", name}});
    if (!found.is_null()) return found.at("experiment").at("experiment_id");
    return post("/api/2.0/mlflow/experiments/create", {{"name", name}}).at("experiment_id");
  }

  std::string create_run(const std::string& experiment_id, const std::string& run_name,
                         std::int64_t start_ms,
                         const std::map<std::string, std::string>& tags) override {
    const json reply = post("/api/2.0/mlflow/runs/create", {{"experiment_id", experiment_id},
                                                            {"run_name", run_name},
                                                            {"start_time", start_ms},
                                                            {"tags", key_values(tags)}});
    const json& info = reply.at("run").at("info");
    artifact_uris_[info.at("run_id")] = info.at("artifact_uri");
    return info.at("run_id");
  }

  bool has_run(const std::string&, const std::string& run_id) override {
    const auto reply = get("/api/2.0/mlflow/runs/get", {{"run_id", run_id}});
    if (reply.is_null()) return false;
    artifact_uris_[run_id] = reply.at("run").at("info").at("artifact_uri");
    return true;
  }

  void log_batch(const std::string& run_id, const std::vector<MlflowMetric>& metrics,
                 const std::map<std::string, std::string>& params,
                 const std::map<std::string, std::string>& tags) override {
    // The server takes at most 1000 metrics and 100 params or tags per request.
    std::size_t m = 0;
    auto p = params.begin();
    auto t = tags.begin();
    do {
      json body = {{"run_id", run_id},
                   {"metrics", json::array()},
                   {"params", json::array()},
                   {"tags", json::array()}};
      for (; m < metrics.size() && body["metrics"].size() < 1000; ++m) {
        body["metrics"].push_back({{"key", metrics[m].key},
                                   {"value", metrics[m].value},
                                   {"timestamp", metrics[m].timestamp_ms},
                                   {"step", metrics[m].step}});
      }
      for (; p != params.end() && body["params"].size() < 100; ++p)
        body["params"].push_back({{"key", p->first}, {"value", p->second}});
      for (; t != tags.end() && body["tags"].size() < 100; ++t)
        body["tags"].push_back({{"key", t->first}, {"value", t->second}});
      post("/api/2.0/mlflow/runs/log-batch", body);
    } while (m < metrics.size() || p != params.end() || t != tags.end());
  }

  void log_artifact(const std::string& run_id, const std::string& local_path,
                    const std::string& artifact_dir) override {
    const std::string& uri = artifact_uris_.at(run_id);
    const std::string name = std::filesystem::path(local_path).filename().string();
    const std::string relative = artifact_dir.empty() ? name : artifact_dir + "/" + name;
    std::ifstream file(local_path, std::ios::binary);
    std::ostringstream contents;
    contents << file.rdbuf();
    if (!file) throw std::runtime_error(local_path + ": cannot read");
    const std::string proxy = "mlflow-artifacts:";
    if (uri.rfind(proxy, 0) == 0) {
      // mlflow-artifacts:/<experiment>/<run>/artifacts (or with //host:port before the path).
      std::string path = uri.substr(proxy.size());
      if (path.rfind("//", 0) == 0) path = path.substr(path.find('/', 2));
      const auto result = client_.Put("/api/2.0/mlflow-artifacts/artifacts" + path + "/" + relative,
                                      contents.str(), "application/octet-stream");
      check(result, "PUT artifact " + relative);
    } else if (uri.rfind("file:", 0) == 0 || uri.find("://") == std::string::npos) {
      // A server without the proxy stores artifacts in a directory its clients share.
      std::string root = uri.rfind("file://", 0) == 0 ? uri.substr(7)
                         : uri.rfind("file:", 0) == 0 ? uri.substr(5)
                                                      : uri;
      const auto target = std::filesystem::path(root) / artifact_dir;
      std::filesystem::create_directories(target);
      std::filesystem::copy_file(local_path, target / name,
                                 std::filesystem::copy_options::overwrite_existing);
    } else {
      throw std::runtime_error("--mlflow " + base_ + ": artifact store " + uri +
                               " is not supported (serve artifacts through the tracking server)");
    }
  }

  void set_status(const std::string& run_id, MlflowRunStatus status, std::int64_t end_ms) override {
    json body = {{"run_id", run_id}, {"status", status_name(status)}};
    if (status != MlflowRunStatus::running) body["end_time"] = end_ms;
    post("/api/2.0/mlflow/runs/update", body);
  }

 private:
  void check(const httplib::Result& result, const std::string& what) const {
    if (!result) {
      throw std::runtime_error("--mlflow " + base_ + ": " + what + ": " +
                               httplib::to_string(result.error()));
    }
    if (result->status >= 300) {
      throw std::runtime_error("--mlflow " + base_ + ": " + what + ": HTTP " +
                               std::to_string(result->status) + ": " + result->body);
    }
  }

  static json reply(const httplib::Result& result) {
    return result->body.empty() ? json::object() : json::parse(result->body);
  }
  // The reply's JSON; null when the server answers RESOURCE_DOES_NOT_EXIST (HTTP 404).
  json get(const std::string& path, const httplib::Params& params) {
    const httplib::Result result = client_.Get(path, params, httplib::Headers{});
    if (result && result->status == 404) return nullptr;
    check(result, "GET " + path);
    return reply(result);
  }
  json post(const std::string& path, const json& body) {
    const httplib::Result result = client_.Post(path, body.dump(), "application/json");
    check(result, "POST " + path);
    return reply(result);
  }

  std::string base_;
  httplib::Client client_;
  std::map<std::string, std::string> artifact_uris_;
};

}  // namespace

std::unique_ptr<MlflowStore> open_mlflow_rest_store(const std::string& base_url) {
  return std::make_unique<RestStore>(base_url);
}

}  // namespace engine::tracking
