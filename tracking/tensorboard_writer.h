// --tensorboard DIR: event files TensorBoard reads. Each record is TFRecord-framed (length,
// masked CRC-32C of the length, the serialised Event, masked CRC-32C of it); events hold scalar
// summaries, the run's hyperparameters for the HParams dashboard (an experiment and a session
// with its end status), and on resume a SessionLog START at the resumed step, which makes
// TensorBoard drop the points an interrupted run wrote past its last checkpoint.
#pragma once

#include <fstream>
#include <string>

#include "tracking/sink.h"

namespace tensorboard {
class Event;
}

namespace engine::tracking {

class TensorBoardWriter final : public Sink {
 public:
  // Creates `dir` if needed and a new event file in it; throws std::runtime_error naming it.
  explicit TensorBoardWriter(const std::string& dir);

  void start(const nlohmann::json& config, std::int64_t steps_done) override;
  void scalars(std::int64_t step, std::span<const Scalar> values) override;
  void finish(RunStatus status, const std::string& run_dir) override;

 private:
  void write(tensorboard::Event& event);

  std::string path_;
  std::ofstream file_;
};

}  // namespace engine::tracking
