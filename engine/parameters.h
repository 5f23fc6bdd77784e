// All trainable parameters live in one flat fp32 arena, with gradients (and optimizer state, in
// the optimizer) in arenas of the same size at the same offsets: one allreduce, one optimizer
// loop and one checkpoint dataset cover the whole model. Each tensor is a named slice; names
// follow PyTorch's state_dict ("rnn.weight_ih_l0_reverse", ...) so weights map one to one.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

namespace engine {

struct ParameterSlice {
  std::string name;
  std::vector<std::int64_t> shape;
  std::size_t offset = 0;
  std::size_t size = 0;
};

class ParameterArena {
 public:
  // Registers a tensor; returns its index. All tensors are added before the first data() call.
  std::size_t add(const std::string& name, std::vector<std::int64_t> shape);

  std::size_t size() const { return grads_.size(); }
  const std::vector<ParameterSlice>& slices() const { return slices_; }
  const ParameterSlice& slice(std::size_t index) const { return slices_.at(index); }
  const ParameterSlice& slice(const std::string& name) const;  // throws naming the tensor

  float* value(std::size_t index) { return values().data() + slices_[index].offset; }
  const float* value(std::size_t index) const { return values().data() + slices_[index].offset; }
  float* grad(std::size_t index) { return grads_.data() + slices_[index].offset; }

  std::span<float> values() { return owner_ != nullptr ? owner_->values_ : values_; }
  std::span<const float> values() const {
    return owner_ != nullptr ? std::span<const float>(owner_->values_) : values_;
  }
  std::span<float> grads() { return grads_; }
  std::span<const float> grads() const { return grads_; }
  void zero_grads();

  // From now on this arena's values are `owner`'s (replicas of one model share one copy of the
  // weights; each keeps its own gradients). The layouts must match; no tensor can be added later.
  void share_values_with(ParameterArena& owner);

 private:
  std::vector<ParameterSlice> slices_;
  std::vector<float> values_;
  std::vector<float> grads_;
  ParameterArena* owner_ = nullptr;
};

}  // namespace engine
