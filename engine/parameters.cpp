#include "engine/parameters.h"

#include <algorithm>
#include <stdexcept>

namespace engine {

std::size_t ParameterArena::add(const std::string& name, std::vector<std::int64_t> shape) {
  if (owner_ != nullptr) throw std::logic_error("parameter " + name + ": the values are shared");
  std::size_t size = 1;
  for (const auto d : shape) {
    if (d < 1) throw std::invalid_argument("parameter " + name + ": dimensions must be >= 1");
    size *= static_cast<std::size_t>(d);
  }
  slices_.push_back({name, std::move(shape), values_.size(), size});
  values_.resize(values_.size() + size, 0.0f);
  grads_.resize(values_.size(), 0.0f);
  return slices_.size() - 1;
}

const ParameterSlice& ParameterArena::slice(const std::string& name) const {
  for (const auto& s : slices_) {
    if (s.name == name) return s;
  }
  throw std::out_of_range("no parameter named '" + name + "'");
}

void ParameterArena::share_values_with(ParameterArena& owner) {
  if (&owner == this || owner.owner_ != nullptr) throw std::logic_error("cannot share values");
  if (owner.slices_.size() != slices_.size() || owner.values_.size() != values_.size()) {
    throw std::invalid_argument("shared parameter values: the layouts differ");
  }
  owner_ = &owner;
  values_ = {};  // never read again
}

void ParameterArena::zero_grads() {
  std::fill(grads_.begin(), grads_.end(), 0.0f);
}

}  // namespace engine
