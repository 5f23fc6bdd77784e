// Learning rate as a function of the optimizer step (0-based): an optional linear warmup from
// 0 to the base rate over `warmup_steps`, then constant, step decay (x gamma every step_size
// steps) or cosine decay to min_lr at total_steps.
#pragma once

#include <cstdint>
#include <string>

namespace engine {

enum class ScheduleKind { kConstant, kStep, kCosine };
std::string schedule_name(ScheduleKind kind);
ScheduleKind parse_schedule(const std::string& name);

struct LrSchedule {
  ScheduleKind kind = ScheduleKind::kConstant;
  double base_lr = 1e-3;
  std::int64_t warmup_steps = 0;
  std::int64_t step_size = 1000;  // kStep
  double gamma = 0.1;             // kStep
  double min_lr = 0.0;            // kCosine
  std::int64_t total_steps = 1;   // kCosine: where the decay ends

  double at(std::int64_t step) const;
};

}  // namespace engine
