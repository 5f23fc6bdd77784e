// MLflow's file store, written as MLflow's FileStore writes it (mlflow/store/tracking/
// file_store.py): numeric experiment ids, YAML meta files, one file per param and tag, metric
// files of "timestamp value step" lines (a '/' in a key makes subdirectories).
#include <yaml-cpp/yaml.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <random>
#include <stdexcept>

#include "io/atomic_file.h"
#include "tracking/mlflow_store.h"

namespace engine::tracking {

namespace fs = std::filesystem;

namespace {

std::string file_uri(const fs::path& path) {
  return "file://" + fs::absolute(path).lexically_normal().string();
}

// MLflow's statuses: RUNNING 1, SCHEDULED 2, FINISHED 3, FAILED 4, KILLED 5.
int status_code(MlflowRunStatus status) {
  switch (status) {
    case MlflowRunStatus::running:
      return 1;
    case MlflowRunStatus::finished:
      return 3;
    case MlflowRunStatus::failed:
      return 4;
    case MlflowRunStatus::killed:
      return 5;
  }
  return 1;
}

// Ids and names are quoted so that YAML keeps a numeric id a string, as MLflow writes it.
void emit(YAML::Emitter& out, const char* key, const std::string& value) {
  out << YAML::Key << key << YAML::Value << YAML::SingleQuoted << value;
}

void write_experiment_meta(const fs::path& dir, const std::string& id, const std::string& name) {
  const std::int64_t now = mlflow_now_ms();
  YAML::Emitter out;
  out << YAML::BeginMap << YAML::Key << "artifact_location" << YAML::Value << file_uri(dir)
      << YAML::Key << "creation_time" << YAML::Value << now;
  emit(out, "experiment_id", id);
  out << YAML::Key << "last_update_time" << YAML::Value << now << YAML::Key << "lifecycle_stage"
      << YAML::Value << "active";
  emit(out, "name", name);
  out << YAML::EndMap;
  fs::create_directories(dir);
  io::write_file_atomically((dir / "meta.yaml").string(), std::string(out.c_str()) + "\n");
}

class FileStore final : public MlflowStore {
 public:
  explicit FileStore(fs::path root) : root_(std::move(root)) {
    if (!fs::exists(root_ / "0" / "meta.yaml")) write_experiment_meta(root_ / "0", "0", "Default");
  }

  std::string experiment(const std::string& name) override {
    for (const auto& entry : fs::directory_iterator(root_)) {
      const fs::path meta = entry.path() / "meta.yaml";
      if (!entry.is_directory() || !fs::exists(meta)) continue;
      const YAML::Node node = YAML::LoadFile(meta.string());
      if (node["name"] && node["name"].as<std::string>() == name &&
          node["lifecycle_stage"].as<std::string>("active") == "active")
        return node["experiment_id"].as<std::string>();
    }
    // A new id as MLflow makes them: a large random number, unique in the store.
    std::random_device seed;
    std::mt19937_64 random((static_cast<std::uint64_t>(seed()) << 32) ^ seed());
    std::string id;
    do {
      id = std::to_string(100000000000000000ULL + random() % 900000000000000000ULL);
    } while (fs::exists(root_ / id));
    write_experiment_meta(root_ / id, id, name);
    return id;
  }

  std::string create_run(const std::string& experiment_id, const std::string& run_name,
                         std::int64_t start_ms,
                         const std::map<std::string, std::string>& tags) override {
    const std::string id = new_mlflow_run_id();
    const fs::path dir = root_ / experiment_id / id;
    for (const char* sub : {"params", "metrics", "tags", "artifacts"})
      fs::create_directories(dir / sub);
    runs_[id] = {.dir = dir,
                 .experiment_id = experiment_id,
                 .run_name = run_name,
                 .start_ms = start_ms,
                 .end_ms = -1,
                 .status = MlflowRunStatus::running};
    write_run_meta(id);
    log_batch(id, {}, {}, tags);
    return id;
  }

  bool has_run(const std::string& experiment_id, const std::string& run_id) override {
    const fs::path dir = root_ / experiment_id / run_id;
    if (!fs::exists(dir / "meta.yaml")) return false;
    const YAML::Node meta = YAML::LoadFile((dir / "meta.yaml").string());
    runs_[run_id] = {.dir = dir,
                     .experiment_id = experiment_id,
                     .run_name = meta["run_name"].as<std::string>(""),
                     .start_ms = meta["start_time"].as<std::int64_t>(mlflow_now_ms()),
                     .end_ms = -1,
                     .status = MlflowRunStatus::running};
    return true;
  }

  void log_batch(const std::string& run_id, const std::vector<MlflowMetric>& metrics,
                 const std::map<std::string, std::string>& params,
                 const std::map<std::string, std::string>& tags) override {
    const fs::path dir = run(run_id).dir;
    for (const auto& [key, value] : params) write_value(dir / "params" / key, value);
    for (const auto& [key, value] : tags) write_value(dir / "tags" / key, value);
    for (const MlflowMetric& m : metrics) {
      const fs::path file = dir / "metrics" / m.key;
      fs::create_directories(file.parent_path());
      std::ofstream out(file, std::ios::app);
      char line[96];
      std::snprintf(line, sizeof line, "%lld %.17g %lld\n", static_cast<long long>(m.timestamp_ms),
                    m.value, static_cast<long long>(m.step));
      out << line;
      if (!out) throw std::runtime_error(file.string() + ": cannot write");
    }
  }

  void log_artifact(const std::string& run_id, const std::string& local_path,
                    const std::string& artifact_dir) override {
    const fs::path target = run(run_id).dir / "artifacts" / artifact_dir;
    fs::create_directories(target);
    fs::copy_file(local_path, target / fs::path(local_path).filename(),
                  fs::copy_options::overwrite_existing);
  }

  void set_status(const std::string& run_id, MlflowRunStatus status, std::int64_t end_ms) override {
    Run& r = run(run_id);
    r.status = status;
    r.end_ms = status == MlflowRunStatus::running ? -1 : end_ms;
    write_run_meta(run_id);
  }

 private:
  struct Run {
    fs::path dir;
    std::string experiment_id, run_name;
    std::int64_t start_ms, end_ms;
    MlflowRunStatus status;
  };

  Run& run(const std::string& run_id) {
    const auto found = runs_.find(run_id);
    if (found == runs_.end()) throw std::logic_error("MLflow run " + run_id + " is not open");
    return found->second;
  }

  static void write_value(const fs::path& path, const std::string& value) {
    fs::create_directories(path.parent_path());
    io::write_file_atomically(path.string(), value);
  }

  void write_run_meta(const std::string& run_id) {
    const Run& r = run(run_id);
    YAML::Emitter out;
    out << YAML::BeginMap << YAML::Key << "artifact_uri" << YAML::Value
        << file_uri(r.dir / "artifacts") << YAML::Key << "end_time" << YAML::Value;
    if (r.end_ms < 0) {
      out << YAML::Null;
    } else {
      out << r.end_ms;
    }
    emit(out, "entry_point_name", "");
    emit(out, "experiment_id", r.experiment_id);
    out << YAML::Key << "lifecycle_stage" << YAML::Value << "active";
    emit(out, "run_id", run_id);
    emit(out, "run_name", r.run_name);
    emit(out, "source_name", "");
    out << YAML::Key << "source_type" << YAML::Value << 4;  // LOCAL
    emit(out, "source_version", "");
    out << YAML::Key << "start_time" << YAML::Value << r.start_ms << YAML::Key << "status"
        << YAML::Value << status_code(r.status) << YAML::Key << "tags" << YAML::Value << YAML::Flow
        << YAML::BeginSeq << YAML::EndSeq;
    const char* user = std::getenv("USER");
    emit(out, "user_id", user != nullptr ? user : "engine");
    out << YAML::EndMap;
    io::write_file_atomically((r.dir / "meta.yaml").string(), std::string(out.c_str()) + "\n");
  }

  fs::path root_;
  std::map<std::string, Run> runs_;
};

}  // namespace

std::unique_ptr<MlflowStore> open_mlflow_file_store(const std::string& root) {
  std::error_code error;
  fs::create_directories(root, error);
  if (error) throw std::runtime_error("--mlflow " + root + ": cannot create: " + error.message());
  return std::make_unique<FileStore>(root);
}

std::int64_t mlflow_now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

std::string new_mlflow_run_id() {
  static std::mt19937_64 random = [] {
    std::random_device seed;
    return std::mt19937_64((static_cast<std::uint64_t>(seed()) << 32) ^ seed());
  }();
  char id[33];
  std::snprintf(id, sizeof id, "%016llx%016llx", static_cast<unsigned long long>(random()),
                static_cast<unsigned long long>(random()));
  return id;
}

std::unique_ptr<MlflowStore> open_mlflow_store(const std::string& uri) {
  if (uri.rfind("http://", 0) == 0 || uri.rfind("https://", 0) == 0)
    return open_mlflow_rest_store(uri);
  if (uri.rfind("file://", 0) == 0) return open_mlflow_file_store(uri.substr(7));
  if (uri.rfind("file:", 0) == 0) return open_mlflow_file_store(uri.substr(5));
  if (uri.find("://") == std::string::npos) return open_mlflow_file_store(uri);
  throw std::invalid_argument(
      "--mlflow " + uri + ": expected file:PATH, a directory, or an http(s):// tracking server");
}

}  // namespace engine::tracking
