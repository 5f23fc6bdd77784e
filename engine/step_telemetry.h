// Where the training loop's time goes, step by step: data wait, forward, backward, gradient
// allreduce, optimizer (plus validations and checkpoints). Feeds the --timeline trace (every
// rank) and the --metrics-port Prometheus endpoint (rank 0 serves; every 10 steps the ranks'
// own figures are gathered so one scrape shows all of them). Every rank must make the same
// calls in the same order: some of them are collectives.
#pragma once

#include <array>
#include <memory>
#include <string>

#include "comm/communicator.h"
#include "engine/train_config.h"
#include "tracking/metrics_registry.h"
#include "tracking/metrics_server.h"
#include "tracking/timeline.h"

namespace engine {

enum class Phase { data, forward, backward, allreduce, optimizer };
inline constexpr std::array<const char*, 5> kPhaseNames = {"data", "forward", "backward",
                                                           "allreduce", "optimizer"};

// What one optimizer step did, summed over ranks.
struct StepFigures {
  std::int64_t step = 0;
  int epoch = 0;  // 0-based
  double loss = 0, accuracy = 0, lr = 0;
  std::int64_t rows = 0, tokens = 0;
  double loss_scale = 1;  // fp16's dynamic loss scale (1 in fp32)
  bool skipped = false;   // fp16: the step's gradients overflowed and it was skipped
};

class StepTelemetry {
 public:
  using Clock = tracking::Timeline::Clock;

  StepTelemetry(const TrainConfig& config, comm::Communicator& world, const std::string& host);
  ~StepTelemetry();
  int metrics_port() const { return server_ ? server_->port() : 0; }

  static Clock::time_point now() { return Clock::now(); }
  // A phase of the step being taken.
  void phase(Phase phase, Clock::time_point begin, Clock::time_point end);
  // A gradient bucket summed on the communication thread during this step (timeline only).
  void bucket(Clock::time_point begin, Clock::time_point end);
  // Work between steps (validation, checkpoint): only on the timeline.
  void event(const char* name, Clock::time_point begin, Clock::time_point end);
  // Closes the step: publishes its figures and phase times (collective every 10 steps).
  void end_step(const StepFigures& figures);
  void validation(double loss, double accuracy, double macro_f1);
  // Gathers the timeline to rank 0, which writes --timeline (collective).
  void finish();

 private:
  void publish_ranks();

  comm::Communicator& world_;
  std::string timeline_path_;
  std::unique_ptr<tracking::Timeline> timeline_;
  std::unique_ptr<tracking::MetricsRegistry> registry_;  // every rank: gathered to rank 0's
  std::unique_ptr<tracking::MetricsServer> server_;      // rank 0
  std::int64_t step_ = 0;
  std::array<double, 5> seconds_{};        // this step's phases
  std::array<double, 5> since_publish_{};  // this rank's phases since the last gathering
  double since_publish_step_seconds_ = 0;
  std::int64_t steps_since_publish_ = 0;
  Clock::time_point last_step_end_;
};

}  // namespace engine
