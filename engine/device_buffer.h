// A typed, grow-only buffer in a Backend's memory: ensure(n) keeps the allocation when it is big
// enough, so a model's activations are allocated in the first steps and then reused.
#pragma once

#include <cstddef>
#include <utility>

#include "engine/backend.h"

namespace engine {

template <typename T>
class DeviceBuffer {
 public:
  explicit DeviceBuffer(Backend& backend) : backend_(&backend) {}
  DeviceBuffer(const DeviceBuffer&) = delete;
  DeviceBuffer& operator=(const DeviceBuffer&) = delete;
  DeviceBuffer(DeviceBuffer&& other) noexcept
      : backend_(other.backend_),
        data_(std::exchange(other.data_, nullptr)),
        capacity_(std::exchange(other.capacity_, 0)) {}
  DeviceBuffer& operator=(DeviceBuffer&& other) noexcept {
    std::swap(backend_, other.backend_);
    std::swap(data_, other.data_);
    std::swap(capacity_, other.capacity_);
    return *this;
  }
  ~DeviceBuffer() {
    if (data_ != nullptr) backend_->release(data_);
  }

  // At least `count` elements; the contents are undefined after a reallocation.
  T* ensure(std::size_t count) {
    if (count > capacity_) {
      if (data_ != nullptr) backend_->release(data_);
      data_ = nullptr;
      data_ = static_cast<T*>(backend_->allocate(count * sizeof(T)));
      capacity_ = count;
    }
    return data_;
  }
  T* data() const { return data_; }
  std::size_t capacity() const { return capacity_; }

 private:
  Backend* backend_;
  T* data_ = nullptr;
  std::size_t capacity_ = 0;
};

}  // namespace engine
