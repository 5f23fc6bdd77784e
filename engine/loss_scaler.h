// Dynamic loss scaling's host-side decisions for fp16 training (the rule itself is
// kernels/math/loss_scale.h, PyTorch GradScaler's): the scale the next backward multiplies the
// loss gradient by, whether a step is skipped, a count of skipped steps, and a clear error when
// overflow persists (more than max_recent_skips of the last `window` steps skipped), instead of
// a run that silently stops learning. Its state goes into checkpoints (through the trainer's
// progress record), so a resumed run scales exactly as the original would have.
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <nlohmann/json.hpp>

#include "kernels/math/loss_scale.h"

namespace engine {

// GradScaler's 2^16 is meant for a mean loss; the engine backpropagates the SUMMED loss of a
// batch (engine/model.h), whose per-example gradients are batch_size times larger. So the first
// scale is 2^16 divided by batch_size rounded up to a power of two (at least 1), which saves
// the log2(batch) overflowing steps a plain 2^16 would skip at the start.
float initial_loss_scale(std::size_t batch_size);

class LossScaler {
 public:
  explicit LossScaler(math::LossScaleConfig config = {}, int window = 100,
                      int max_recent_skips = 50);

  float scale() const { return state_.scale; }
  std::int64_t skipped_steps() const { return skipped_; }
  // After step `step`'s gradient check: true when the step must be skipped. Throws
  // std::runtime_error when too many recent steps overflowed.
  bool update(bool found_non_finite, std::int64_t step);

  nlohmann::json to_json() const;
  void restore(const nlohmann::json& state);

 private:
  math::LossScaleConfig config_;
  math::LossScaleState state_;
  int window_;
  int max_recent_skips_;
  std::deque<bool> recent_;  // the last `window_` steps: true = skipped
  std::int64_t skipped_ = 0;
};

}  // namespace engine
