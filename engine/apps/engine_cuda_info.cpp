// engine_cuda_info: prints the CUDA devices this build can use and the linked library versions.
#include <cstdio>
#include <exception>

#include "kernels/cuda/device_info.h"

int main() {
  try {
    const auto env = engine::cuda::probe_cuda();
    std::printf("CUDA runtime %d, driver %d; %s\n", env.runtime_version, env.driver_version,
                env.library_versions.c_str());
    if (env.devices.empty()) {
      std::printf("%s\n", env.unavailable_reason.c_str());
      return 2;
    }
    for (const auto& d : env.devices) {
      std::printf("device %d: %s, sm_%d%d, %.1f GiB\n", d.index, d.name.c_str(), d.compute_major,
                  d.compute_minor, static_cast<double>(d.total_memory) / (1 << 30));
    }
  } catch (const std::exception& e) {
    std::fprintf(stderr, "engine_cuda_info: %s\n", e.what());
    return 1;
  }
  return 0;
}
