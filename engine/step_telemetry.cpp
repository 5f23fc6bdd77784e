#include "engine/step_telemetry.h"

#include <unistd.h>

#include <fstream>

namespace engine {

namespace {

using tracking::MetricsRegistry;
constexpr std::int64_t kGatherEvery = 10;  // steps between gatherings of per-rank figures

double seconds_between(StepTelemetry::Clock::time_point begin,
                       StepTelemetry::Clock::time_point end) {
  return std::chrono::duration<double>(end - begin).count();
}

double resident_bytes() {
  std::ifstream statm("/proc/self/statm");
  double pages_total = 0, pages_resident = 0;
  statm >> pages_total >> pages_resident;
  return pages_resident * static_cast<double>(::sysconf(_SC_PAGESIZE));
}

void describe_all(MetricsRegistry& r) {
  using T = MetricsRegistry::Type;
  r.describe("engine_step", T::gauge, "Optimizer steps taken");
  r.describe("engine_epoch", T::gauge, "Current epoch (1-based)");
  r.describe("engine_ranks", T::gauge, "Data-parallel ranks");
  r.describe("engine_train_loss", T::gauge, "Mean training loss of the last step");
  r.describe("engine_train_accuracy", T::gauge, "Training accuracy of the last step");
  r.describe("engine_learning_rate", T::gauge, "Learning rate of the last step");
  r.describe("engine_samples_per_second", T::gauge, "Examples per second in the last step");
  r.describe("engine_tokens_per_second", T::gauge, "Tokens per second in the last step");
  r.describe("engine_samples_total", T::counter, "Examples trained on by this process");
  r.describe("engine_tokens_total", T::counter, "Tokens trained on by this process");
  r.describe("engine_step_seconds", T::gauge, "Rank 0's time in each phase of the last step");
  r.describe("engine_phase_seconds_total", T::counter, "Rank 0's time in each phase");
  r.describe("engine_valid_loss", T::gauge, "Validation loss of the last validation");
  r.describe("engine_valid_accuracy", T::gauge, "Validation accuracy of the last validation");
  r.describe("engine_valid_macro_f1", T::gauge, "Validation macro-F1 of the last validation");
  r.describe("engine_loss_scale", T::gauge, "Dynamic loss scale (1: fp32 training, no scaling)");
  r.describe("engine_skipped_steps_total", T::counter,
             "Steps skipped for non-finite gradients under loss scaling");
  r.describe("engine_rank_step_seconds", T::gauge,
             "Each rank's mean time per step over the last gathering interval");
  r.describe("engine_rank_phase_seconds", T::gauge,
             "Each rank's mean time per step in each phase over the last gathering interval");
  r.describe("engine_rank_memory_rss_bytes", T::gauge, "Each rank's resident memory");
}

}  // namespace

StepTelemetry::StepTelemetry(const TrainConfig& config, comm::Communicator& world,
                             const std::string& host)
    : world_(world), timeline_path_(config.timeline), last_step_end_(now()) {
  if (!config.timeline.empty()) {
    timeline_ = std::make_unique<tracking::Timeline>(
        world.rank(), "rank " + std::to_string(world.rank()) + " (" + host + ")");
  }
  if (config.metrics_port >= 0) {
    registry_ = std::make_unique<MetricsRegistry>();
    describe_all(*registry_);
    registry_->set("engine_ranks", world.size());
    registry_->set("engine_loss_scale", 1.0);
    registry_->add("engine_skipped_steps_total", 0.0);
    if (world.is_root())
      server_ = std::make_unique<tracking::MetricsServer>(*registry_, config.metrics_host,
                                                          config.metrics_port);
  }
}

StepTelemetry::~StepTelemetry() = default;

void StepTelemetry::phase(Phase phase, Clock::time_point begin, Clock::time_point end) {
  const auto k = static_cast<std::size_t>(phase);
  seconds_[k] += seconds_between(begin, end);
  if (timeline_) timeline_->record(kPhaseNames[k], "step", begin, end, step_ + 1);
}

void StepTelemetry::bucket(Clock::time_point begin, Clock::time_point end) {
  if (timeline_) timeline_->record("allreduce bucket", "comm", begin, end, step_ + 1, 1);
}

void StepTelemetry::event(const char* name, Clock::time_point begin, Clock::time_point end) {
  if (timeline_) timeline_->record(name, "run", begin, end, step_);
  last_step_end_ = end;  // the next step's time starts here
}

void StepTelemetry::end_step(const StepFigures& f) {
  const Clock::time_point end = now();
  const double step_seconds = std::max(seconds_between(last_step_end_, end), 1e-9);
  if (timeline_) timeline_->record("step", "step", last_step_end_, end, f.step);
  last_step_end_ = end;
  step_ = f.step;
  if (registry_) {
    MetricsRegistry& r = *registry_;
    r.set("engine_step", static_cast<double>(f.step));
    r.set("engine_epoch", f.epoch + 1);
    r.set("engine_train_loss", f.loss);
    r.set("engine_train_accuracy", f.accuracy);
    r.set("engine_learning_rate", f.lr);
    r.set("engine_samples_per_second", static_cast<double>(f.rows) / step_seconds);
    r.set("engine_tokens_per_second", static_cast<double>(f.tokens) / step_seconds);
    r.add("engine_samples_total", static_cast<double>(f.rows));
    r.add("engine_tokens_total", static_cast<double>(f.tokens));
    r.set("engine_loss_scale", f.loss_scale);
    if (f.skipped) r.add("engine_skipped_steps_total", 1.0);
    for (std::size_t k = 0; k < seconds_.size(); ++k) {
      r.set("engine_step_seconds", seconds_[k], {{"phase", kPhaseNames[k]}});
      r.add("engine_phase_seconds_total", seconds_[k], {{"phase", kPhaseNames[k]}});
      since_publish_[k] += seconds_[k];
    }
    since_publish_step_seconds_ += step_seconds;
    ++steps_since_publish_;
    if (f.step % kGatherEvery == 0) publish_ranks();
  }
  seconds_.fill(0);
}

void StepTelemetry::publish_ranks() {
  // A gather through one allreduce: each rank fills its own row of a zeroed table.
  constexpr std::size_t kColumns = 7;  // step time, 5 phases, RSS
  const auto size = static_cast<std::size_t>(world_.size());
  std::vector<double> table(size * kColumns, 0.0);
  double* row = table.data() + static_cast<std::size_t>(world_.rank()) * kColumns;
  const auto steps = static_cast<double>(std::max<std::int64_t>(steps_since_publish_, 1));
  row[0] = since_publish_step_seconds_ / steps;
  for (std::size_t k = 0; k < since_publish_.size(); ++k) row[1 + k] = since_publish_[k] / steps;
  row[6] = resident_bytes();
  world_.allreduce_sum(table);
  for (std::size_t r = 0; r < size; ++r) {
    const std::string rank = std::to_string(r);
    const double* values = table.data() + r * kColumns;
    registry_->set("engine_rank_step_seconds", values[0], {{"rank", rank}});
    for (std::size_t k = 0; k < kPhaseNames.size(); ++k)
      registry_->set("engine_rank_phase_seconds", values[1 + k],
                     {{"rank", rank}, {"phase", kPhaseNames[k]}});
    registry_->set("engine_rank_memory_rss_bytes", values[6], {{"rank", rank}});
  }
  since_publish_.fill(0);
  since_publish_step_seconds_ = 0;
  steps_since_publish_ = 0;
}

void StepTelemetry::validation(double loss, double accuracy, double macro_f1) {
  if (!registry_) return;
  registry_->set("engine_valid_loss", loss);
  registry_->set("engine_valid_accuracy", accuracy);
  registry_->set("engine_valid_macro_f1", macro_f1);
}

void StepTelemetry::finish() {
  if (!timeline_) return;
  const auto events = world_.gather(timeline_->events_json(), 0);
  if (world_.is_root()) tracking::Timeline::write(timeline_path_, events);
}

}  // namespace engine
