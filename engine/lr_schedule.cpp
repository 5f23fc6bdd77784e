#include "engine/lr_schedule.h"

#include <algorithm>
#include <cmath>
#include <stdexcept>

#include "engine/enum_names.h"

namespace engine {

namespace {
constexpr EnumNames<ScheduleKind, 3> kSchedules{"lr schedule",
                                                {{{ScheduleKind::kConstant, "constant"},
                                                  {ScheduleKind::kStep, "step"},
                                                  {ScheduleKind::kCosine, "cosine"}}}};
}  // namespace

std::string schedule_name(ScheduleKind kind) {
  return kSchedules.name(kind);
}
ScheduleKind parse_schedule(const std::string& name) {
  return kSchedules.parse(name);
}

double LrSchedule::at(std::int64_t step) const {
  if (step < warmup_steps)
    return base_lr * static_cast<double>(step + 1) / static_cast<double>(warmup_steps);
  const std::int64_t after = step - warmup_steps;
  switch (kind) {
    case ScheduleKind::kConstant:
      return base_lr;
    case ScheduleKind::kStep:
      return base_lr *
             std::pow(gamma, static_cast<double>(after / std::max<std::int64_t>(step_size, 1)));
    case ScheduleKind::kCosine: {
      const auto span = static_cast<double>(std::max<std::int64_t>(total_steps - warmup_steps, 1));
      const double progress = std::min(static_cast<double>(after) / span, 1.0);
      return min_lr +
             0.5 * (base_lr - min_lr) * (1.0 + std::cos(3.14159265358979323846 * progress));
    }
  }
  return base_lr;
}

}  // namespace engine
