// Where a run's numbers go besides its own files: TensorBoard event files, MLflow. A Tracker
// fans each call out to every configured sink; the trainer calls it on rank 0 only.
#pragma once

#include <cstdint>
#include <memory>
#include <nlohmann/json.hpp>
#include <span>
#include <string>
#include <vector>

namespace engine::tracking {

struct Scalar {
  std::string name;  // "train/loss", "valid/accuracy", "perf/samples_per_second", ...
  double value;
};

enum class RunStatus { finished, failed, interrupted };

class Sink {
 public:
  virtual ~Sink() = default;
  // The run begins with this resolved configuration; a resumed run has `steps_done` > 0 and
  // its next step is steps_done + 1.
  virtual void start(const nlohmann::json& config, std::int64_t steps_done) = 0;
  virtual void scalars(std::int64_t step, std::span<const Scalar> values) = 0;
  // The run ends; `run_dir` holds the report, plots, config and best checkpoint.
  virtual void finish(RunStatus status, const std::string& run_dir) = 0;
};

class Tracker {
 public:
  void add(std::unique_ptr<Sink> sink) { sinks_.push_back(std::move(sink)); }
  bool empty() const { return sinks_.empty(); }
  void start(const nlohmann::json& config, std::int64_t steps_done) {
    for (auto& s : sinks_) s->start(config, steps_done);
  }
  void scalars(std::int64_t step, std::span<const Scalar> values) {
    for (auto& s : sinks_) s->scalars(step, values);
  }
  void finish(RunStatus status, const std::string& run_dir) {
    for (auto& s : sinks_) s->finish(status, run_dir);
  }

 private:
  std::vector<std::unique_ptr<Sink>> sinks_;
};

}  // namespace engine::tracking
