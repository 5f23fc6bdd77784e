// A caching allocator over a raw allocator (cudaMalloc / cudaFree on the GPU): freed blocks are
// kept by size and handed out again, so a training loop stops calling the raw allocator after
// its first steps (cudaMalloc synchronises the device and costs milliseconds). Sizes are rounded
// to 512 bytes below 1 MiB and to 2 MiB above; a request takes the smallest cached block that
// fits and wastes at most half of it. When the raw allocator fails, the cache is emptied and
// the allocation retried once. Not thread-safe: one per device and thread.
#pragma once

#include <cstddef>
#include <functional>
#include <map>
#include <unordered_map>

namespace engine {

class CachingAllocator {
 public:
  using RawAllocate = std::function<void*(std::size_t bytes)>;  // throws on failure
  using RawFree = std::function<void(void* pointer)>;

  struct Stats {
    std::size_t reserved_bytes = 0;   // held from the raw allocator (live + cached)
    std::size_t live_bytes = 0;       // handed out and not yet released
    std::size_t peak_live_bytes = 0;  // the most ever live at once
    std::size_t raw_allocations = 0;  // calls to the raw allocator
    std::size_t reuses = 0;           // requests served from the cache
  };

  CachingAllocator(RawAllocate allocate, RawFree free);
  ~CachingAllocator();  // returns every block to the raw allocator
  CachingAllocator(const CachingAllocator&) = delete;
  CachingAllocator& operator=(const CachingAllocator&) = delete;

  void* allocate(std::size_t bytes);
  void release(void* pointer);  // throws std::invalid_argument for a pointer it did not give out
  void empty_cache();           // returns the cached (not live) blocks
  const Stats& stats() const { return stats_; }

  static std::size_t rounded_size(std::size_t bytes);

 private:
  RawAllocate raw_allocate_;
  RawFree raw_free_;
  std::multimap<std::size_t, void*> cached_;     // block size -> free block
  std::unordered_map<void*, std::size_t> live_;  // block -> its size
  Stats stats_;
};

}  // namespace engine
