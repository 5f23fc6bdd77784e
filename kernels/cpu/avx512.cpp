#include "kernels/cpu/avx512.h"

#include <atomic>

namespace engine::cpu {

namespace {
std::atomic<bool> enabled{true};
}

bool avx512_available() {
  static const bool supported = __builtin_cpu_supports("avx512f");
  return supported && enabled.load(std::memory_order_relaxed);
}

void set_avx512_enabled(bool on) {
  enabled.store(on, std::memory_order_relaxed);
}

}  // namespace engine::cpu
