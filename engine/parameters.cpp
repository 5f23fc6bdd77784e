#include "engine/parameters.h"

#include <algorithm>
#include <stdexcept>

namespace engine {

std::size_t ParameterArena::add(const std::string& name, std::vector<std::int64_t> shape) {
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

void ParameterArena::zero_grads() {
  std::fill(grads_.begin(), grads_.end(), 0.0f);
}

}  // namespace engine
