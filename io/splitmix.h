// SplitMix64: a small, fully specified generator. Used wherever data order must be identical on
// every platform and standard library (std::shuffle and the std distributions are not).
#pragma once

#include <cstdint>
#include <utility>
#include <vector>

namespace engine::io {

class SplitMix64 {
 public:
  explicit SplitMix64(std::uint64_t seed) : state_(seed) {}
  std::uint64_t next() {
    std::uint64_t z = (state_ += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
  }
  // Uniform in [0, bound) without modulo bias (Lemire's multiply-and-reject).
  std::uint64_t below(std::uint64_t bound) {
    while (true) {
      const __uint128_t product = static_cast<__uint128_t>(next()) * bound;
      const auto low = static_cast<std::uint64_t>(product);
      if (low >= (0 - bound) % bound) return static_cast<std::uint64_t>(product >> 64);
    }
  }
  double uniform() { return static_cast<double>(next() >> 11) * 0x1.0p-53; }  // [0, 1)

 private:
  std::uint64_t state_;
};

// Fisher-Yates with SplitMix64.
template <typename T>
void shuffle(std::vector<T>& items, SplitMix64& rng) {
  for (std::size_t i = items.size(); i > 1; --i) std::swap(items[i - 1], items[rng.below(i)]);
}

}  // namespace engine::io
