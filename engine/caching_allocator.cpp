#include "engine/caching_allocator.h"

#include <algorithm>
#include <stdexcept>
#include <utility>

namespace engine {

namespace {
constexpr std::size_t kSmallGranule = 512;
constexpr std::size_t kLargeThreshold = std::size_t{1} << 20;
constexpr std::size_t kLargeGranule = std::size_t{2} << 20;
}  // namespace

std::size_t CachingAllocator::rounded_size(std::size_t bytes) {
  const std::size_t granule = bytes < kLargeThreshold ? kSmallGranule : kLargeGranule;
  return std::max<std::size_t>((bytes + granule - 1) / granule * granule, kSmallGranule);
}

CachingAllocator::CachingAllocator(RawAllocate allocate, RawFree free)
    : raw_allocate_(std::move(allocate)), raw_free_(std::move(free)) {}

CachingAllocator::~CachingAllocator() {
  for (const auto& [pointer, size] : live_) raw_free_(pointer);
  empty_cache();
}

void* CachingAllocator::allocate(std::size_t bytes) {
  const std::size_t size = rounded_size(bytes);
  auto found = cached_.lower_bound(size);
  void* pointer = nullptr;
  std::size_t block = size;
  if (found != cached_.end() && found->first <= 2 * size) {
    block = found->first;
    pointer = found->second;
    cached_.erase(found);
    ++stats_.reuses;
  } else {
    try {
      pointer = raw_allocate_(size);
    } catch (...) {
      if (cached_.empty()) throw;
      empty_cache();  // memory held for other sizes may be what this one needs
      pointer = raw_allocate_(size);
    }
    ++stats_.raw_allocations;
    stats_.reserved_bytes += size;
  }
  live_.emplace(pointer, block);
  stats_.live_bytes += block;
  stats_.peak_live_bytes = std::max(stats_.peak_live_bytes, stats_.live_bytes);
  return pointer;
}

void CachingAllocator::release(void* pointer) {
  if (pointer == nullptr) return;
  const auto found = live_.find(pointer);
  if (found == live_.end())
    throw std::invalid_argument("caching allocator: release of a block it did not allocate");
  stats_.live_bytes -= found->second;
  cached_.emplace(found->second, pointer);
  live_.erase(found);
}

void CachingAllocator::empty_cache() {
  for (const auto& [size, pointer] : cached_) {
    raw_free_(pointer);
    stats_.reserved_bytes -= size;
  }
  cached_.clear();
}

}  // namespace engine
