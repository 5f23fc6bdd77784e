#include "engine/loss_scaler.h"

#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <string>

namespace engine {

float initial_loss_scale(std::size_t batch_size) {
  float scale = 65536.0f;
  for (std::size_t covered = 1; covered < batch_size && scale > 1.0f; covered *= 2) scale /= 2.0f;
  return scale;
}

LossScaler::LossScaler(math::LossScaleConfig config, int window, int max_recent_skips)
    : config_(config), window_(window), max_recent_skips_(max_recent_skips) {
  state_.scale = config.init_scale;
}

bool LossScaler::update(bool found_non_finite, std::int64_t step) {
  const bool skip = math::update_loss_scale(state_, found_non_finite, config_);
  recent_.push_back(skip);
  if (static_cast<int>(recent_.size()) > window_) recent_.pop_front();
  if (skip) ++skipped_;
  const auto recent_skips = std::count(recent_.begin(), recent_.end(), true);
  if (recent_skips > max_recent_skips_) {
    throw std::runtime_error(
        "[amp] " + std::to_string(recent_skips) + " of the last " + std::to_string(recent_.size()) +
        " steps (up to step " + std::to_string(step) +
        ") had inf/NaN gradients in fp16 and were skipped; the loss scale fell to 2^" +
        std::to_string(static_cast<int>(std::log2(state_.scale))) +
        ". The model does not train in half precision like this: lower --lr, set --clip-norm, "
        "or use --precision fp32");
  }
  return skip;
}

nlohmann::json LossScaler::to_json() const {
  std::string recent;
  for (const bool skipped : recent_) recent += skipped ? '1' : '0';
  return {{"scale", state_.scale},
          {"clean_steps", state_.clean_steps},
          {"skipped_steps", skipped_},
          {"recent", recent}};
}

void LossScaler::restore(const nlohmann::json& state) {
  state_.scale = state.at("scale").get<float>();
  state_.clean_steps = state.at("clean_steps").get<int>();
  skipped_ = state.at("skipped_steps").get<std::int64_t>();
  recent_.clear();
  for (const char c : state.at("recent").get<std::string>()) recent_.push_back(c == '1');
}

}  // namespace engine
