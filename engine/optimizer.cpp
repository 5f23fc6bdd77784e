#include "engine/optimizer.h"

#include <cmath>
#include <stdexcept>

#include "engine/enum_names.h"
#include "engine/split_range.h"
#include "kernels/math/optimizers.h"

namespace engine {

namespace {
constexpr EnumNames<OptimizerKind, 3> kOptimizers{"optimizer",
                                                  {{{OptimizerKind::kAdam, "adam"},
                                                    {OptimizerKind::kAdamW, "adamw"},
                                                    {OptimizerKind::kSgd, "sgd"}}}};
}  // namespace

std::string optimizer_name(OptimizerKind kind) {
  return kOptimizers.name(kind);
}
OptimizerKind parse_optimizer(const std::string& name) {
  return kOptimizers.parse(name);
}

math::AdamStep adam_step(const OptimizerConfig& config, std::int64_t t, float lr) {
  const auto steps = static_cast<double>(t);
  return {lr,
          config.beta1,
          config.beta2,
          config.eps,
          config.weight_decay,
          config.kind == OptimizerKind::kAdamW,
          static_cast<float>(1.0 - std::pow(static_cast<double>(config.beta1), steps)),
          static_cast<float>(1.0 - std::pow(static_cast<double>(config.beta2), steps))};
}

math::SgdStep sgd_step(const OptimizerConfig& config, std::int64_t t, float lr) {
  return {lr, config.momentum, config.weight_decay, config.nesterov, t == 1};
}

Optimizer::Optimizer(OptimizerConfig config, std::size_t size)
    : config_(config),
      first_(size, 0.0f),
      second_(config.kind == OptimizerKind::kSgd ? 0 : size, 0.0f) {}

void Optimizer::step(std::span<float> values, std::span<const float> grads, float lr) {
  if (values.size() != first_.size() || grads.size() != first_.size()) {
    throw std::invalid_argument("optimizer: arena sizes differ");
  }
  ++steps_;
  if (config_.kind == OptimizerKind::kSgd) {
    const math::SgdStep s = sgd_step(config_, steps_, lr);
    for (std::size_t i = 0; i < values.size(); ++i)
      math::sgd_update(values[i], grads[i], first_[i], s);
    return;
  }
  const math::AdamStep s = adam_step(config_, steps_, lr);
  for (std::size_t i = 0; i < values.size(); ++i)
    math::adam_update(values[i], grads[i], first_[i], second_[i], s);
}

double scaled_sum_of_squares(std::span<const float> values, float scale) {
  // Eight interleaved double lanes, added up in a fixed order: one running sum was a chain of
  // dependent adds (4 cycles per weight, most of the update's time); lanes vectorise.
  constexpr std::size_t kLanes = 8;
  double lanes[kLanes] = {};
  const std::size_t n = values.size();
  std::size_t i = 0;
  for (; i + kLanes <= n; i += kLanes) {
    for (std::size_t k = 0; k < kLanes; ++k) {
      const float scaled = values[i + k] * scale;
      lanes[k] += static_cast<double>(scaled) * scaled;
    }
  }
  for (; i < n; ++i) {
    const float scaled = values[i] * scale;
    lanes[i % kLanes] += static_cast<double>(scaled) * scaled;
  }
  return ((lanes[0] + lanes[4]) + (lanes[1] + lanes[5])) +
         ((lanes[2] + lanes[6]) + (lanes[3] + lanes[7]));
}

namespace {

// The gradient step_scaled applies: scaled, and clipped by `factor` when `clip` (multiplying
// only then keeps the rounding of the separate passes).
struct ScaledGradient {
  float scale;
  bool clip;
  float factor;
  float operator()(float g) const {
    const float scaled = g * scale;
    return clip ? scaled * factor : scaled;
  }
};

void adam_range(float* __restrict p, float* __restrict g, float* __restrict m, float* __restrict v,
                std::size_t begin, std::size_t end, ScaledGradient gradient, math::AdamStep s) {
  for (std::size_t i = begin; i < end; ++i) {
    math::adam_update(p[i], gradient(g[i]), m[i], v[i], s);
    g[i] = 0.0f;
  }
}

void sgd_range(float* __restrict p, float* __restrict g, float* __restrict m, std::size_t begin,
               std::size_t end, ScaledGradient gradient, math::SgdStep s) {
  for (std::size_t i = begin; i < end; ++i) {
    math::sgd_update(p[i], gradient(g[i]), m[i], s);
    g[i] = 0.0f;
  }
}

}  // namespace

double Optimizer::step_scaled(std::span<float> values, std::span<float> grads, float grad_scale,
                              double max_norm, float lr, int threads) {
  if (values.size() != first_.size() || grads.size() != first_.size()) {
    throw std::invalid_argument("optimizer: arena sizes differ");
  }
  const double norm = std::sqrt(scaled_sum_of_squares(grads, grad_scale));
  const bool clip = max_norm > 0 && norm > max_norm;
  const ScaledGradient gradient{grad_scale, clip,
                                clip ? static_cast<float>(max_norm / (norm + 1e-6)) : 1.0f};
  ++steps_;
  const auto parts = static_cast<std::size_t>(std::max(threads, 1));
  if (config_.kind == OptimizerKind::kSgd) {
    const math::SgdStep s = sgd_step(config_, steps_, lr);
    split_range(values.size(), parts, [&](std::size_t begin, std::size_t end) {
      sgd_range(values.data(), grads.data(), first_.data(), begin, end, gradient, s);
    });
  } else {
    const math::AdamStep s = adam_step(config_, steps_, lr);
    split_range(values.size(), parts, [&](std::size_t begin, std::size_t end) {
      adam_range(values.data(), grads.data(), first_.data(), second_.data(), begin, end, gradient,
                 s);
    });
  }
  return norm;
}

void Optimizer::restore(std::int64_t steps, std::span<const float> first,
                        std::span<const float> second) {
  if (first.size() != first_.size() || second.size() != second_.size()) {
    throw std::invalid_argument("optimizer state has " + std::to_string(first.size()) + "/" +
                                std::to_string(second.size()) + " values, the model needs " +
                                std::to_string(first_.size()) + "/" +
                                std::to_string(second_.size()));
  }
  steps_ = steps;
  first_.assign(first.begin(), first.end());
  second_.assign(second.begin(), second.end());
}

double clip_global_norm(std::span<float> grads, double max_norm) {
  const double norm = std::sqrt(scaled_sum_of_squares(grads, 1.0f));
  if (max_norm > 0 && norm > max_norm) {
    const auto scale = static_cast<float>(max_norm / (norm + 1e-6));
    for (float& g : grads) g *= scale;
  }
  return norm;
}

}  // namespace engine
