// Optimizers over the flat parameter arena (kernels/math/optimizers.h has the per-element
// formulas): SGD with momentum / Nesterov, Adam, AdamW. State lives in arenas at the
// parameters' offsets and is saved in checkpoints, so a resumed run continues exactly.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "kernels/math/optimizers.h"

namespace engine {

enum class OptimizerKind { kSgd, kAdam, kAdamW };
std::string optimizer_name(OptimizerKind kind);
OptimizerKind parse_optimizer(const std::string& name);

struct OptimizerConfig {
  OptimizerKind kind = OptimizerKind::kAdam;
  float beta1 = 0.9f;
  float beta2 = 0.999f;
  float eps = 1e-8f;
  float weight_decay = 0.0f;
  float momentum = 0.0f;  // SGD
  bool nesterov = false;  // SGD
};

// The constants of update number t (1-based) at learning rate lr, shared by every backend.
math::AdamStep adam_step(const OptimizerConfig& config, std::int64_t t, float lr);
math::SgdStep sgd_step(const OptimizerConfig& config, std::int64_t t, float lr);

class Optimizer {
 public:
  Optimizer(OptimizerConfig config, std::size_t size);
  // One update of `values` from `grads` at learning rate `lr`.
  void step(std::span<float> values, std::span<const float> grads, float lr);
  // The trainer's whole update in two sweeps: gradients still to be multiplied by grad_scale
  // (1 / examples) are clipped to a global norm of max_norm (when > 0) and applied, and zeroed for
  // the next step as they are read. Bit-identical to scaling them, clip_global_norm and step()
  // in turn, which take five sweeps. Returns the norm before clipping. `threads` share the
  // update sweep (element-wise, so the result does not depend on their number).
  double step_scaled(std::span<float> values, std::span<float> grads, float grad_scale,
                     double max_norm, float lr, int threads = 1);

  std::int64_t steps() const { return steps_; }
  // State for checkpoints: the moment arenas (SGD keeps its momentum in `first`).
  std::span<const float> first_moment() const { return first_; }
  std::span<const float> second_moment() const { return second_; }
  void restore(std::int64_t steps, std::span<const float> first, std::span<const float> second);
  const OptimizerConfig& config() const { return config_; }

 private:
  OptimizerConfig config_;
  std::vector<float> first_;
  std::vector<float> second_;
  std::int64_t steps_ = 0;
};

// Scales gradients so their global L2 norm is at most max_norm (when max_norm > 0); returns the
// norm before clipping.
double clip_global_norm(std::span<float> grads, double max_norm);
// The sum of (value * scale)^2 in double, in an order fixed by the length alone (the global
// gradient norm of step_scaled and clip_global_norm).
double scaled_sum_of_squares(std::span<const float> values, float scale);

}  // namespace engine
