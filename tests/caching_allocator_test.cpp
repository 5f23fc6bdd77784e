// The caching allocator over malloc/free with counters: reuse without raw calls after the first
// steps, size rounding, best fit within 2x, the retry after emptying the cache, bad releases.
#include "engine/caching_allocator.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <map>
#include <new>
#include <stdexcept>

namespace engine {
namespace {

struct RawCounter {
  int allocations = 0, frees = 0;
  std::size_t limit = static_cast<std::size_t>(-1), held = 0;
  std::map<void*, std::size_t> live;
};

CachingAllocator counted(RawCounter& raw) {
  return CachingAllocator(
      [&raw](std::size_t bytes) {
        if (raw.held + bytes > raw.limit) throw std::bad_alloc();
        ++raw.allocations;
        raw.held += bytes;
        void* p = std::malloc(bytes);
        raw.live.emplace(p, bytes);
        return p;
      },
      [&raw](void* p) {
        ++raw.frees;
        raw.held -= raw.live.at(p);
        raw.live.erase(p);
        std::free(p);
      });
}

TEST(CachingAllocator, RoundsSizes) {
  EXPECT_EQ(CachingAllocator::rounded_size(1), 512u);
  EXPECT_EQ(CachingAllocator::rounded_size(512), 512u);
  EXPECT_EQ(CachingAllocator::rounded_size(513), 1024u);
  EXPECT_EQ(CachingAllocator::rounded_size((1u << 20) + 1), 2u << 20);
  EXPECT_EQ(CachingAllocator::rounded_size(5u << 20), 6u << 20);
}

TEST(CachingAllocator, ReusesFreedBlocksWithoutRawCalls) {
  RawCounter raw;
  {
    CachingAllocator allocator = counted(raw);
    // A training step's pattern, repeated: after the first, no raw allocation.
    for (int step = 0; step < 5; ++step) {
      void* a = allocator.allocate(1000);
      void* b = allocator.allocate(3u << 20);
      void* c = allocator.allocate(700);  // fits a's 1024-byte class only when a is free
      allocator.release(b);
      allocator.release(a);
      allocator.release(c);
    }
    EXPECT_EQ(raw.allocations, 3);
    EXPECT_EQ(allocator.stats().reuses, 12u);
    EXPECT_EQ(allocator.stats().live_bytes, 0u);
    EXPECT_EQ(allocator.stats().peak_live_bytes, 1024u + (4u << 20) + 1024u);
    EXPECT_EQ(allocator.stats().reserved_bytes, 1024u + (4u << 20) + 1024u);
    // Best fit within 2x: a 600-byte request takes a cached 1024-byte block...
    void* small = allocator.allocate(600);
    EXPECT_EQ(raw.allocations, 3);
    // ...but a 512-byte one does not take a 4 MiB block.
    void* tiny = allocator.allocate(100);
    void* other = allocator.allocate(100);
    EXPECT_EQ(raw.allocations, 4);
    allocator.release(small);
    allocator.release(tiny);
    allocator.release(other);
    allocator.empty_cache();
    EXPECT_EQ(allocator.stats().reserved_bytes, 0u);
    EXPECT_TRUE(raw.live.empty());
  }
  EXPECT_EQ(raw.frees, raw.allocations);
}

TEST(CachingAllocator, EmptiesTheCacheAndRetriesWhenMemoryRunsOut) {
  RawCounter raw;
  raw.limit = 6u << 20;
  CachingAllocator allocator = counted(raw);
  allocator.release(allocator.allocate(4u << 20));  // cached, 4 MiB held
  void* big = allocator.allocate(5u << 20);         // needs the cached block's memory back
  EXPECT_NE(big, nullptr);
  EXPECT_EQ(allocator.stats().reserved_bytes, 6u << 20);
  EXPECT_THROW(allocator.allocate(1u << 20), std::bad_alloc);  // nothing left to give back
  allocator.release(big);
}

TEST(CachingAllocator, RejectsPointersItDidNotAllocate) {
  RawCounter raw;
  CachingAllocator allocator = counted(raw);
  int local = 0;
  EXPECT_THROW(allocator.release(&local), std::invalid_argument);
  void* p = allocator.allocate(10);
  allocator.release(p);
  EXPECT_THROW(allocator.release(p), std::invalid_argument);  // twice
}

}  // namespace
}  // namespace engine
