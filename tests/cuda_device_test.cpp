// CUDA smoke test: runs on a GPU machine, skips with the reason everywhere else.
#include <gtest/gtest.h>

#include "kernels/cuda/device_info.h"

namespace engine::cuda {
namespace {

TEST(CudaDevice, LibrariesLinkAndDevicesReport) {
  const CudaEnvironment env = probe_cuda();
  EXPECT_GT(env.runtime_version, 0);
  EXPECT_NE(env.library_versions.find("cuDNN 9"), std::string::npos) << env.library_versions;
  if (env.devices.empty()) GTEST_SKIP() << "skipped: " << env.unavailable_reason;
  for (const auto& device : env.devices) {
    EXPECT_FALSE(device.name.empty());
    EXPECT_GE(device.compute_major, 7) << "this build targets sm_80 and sm_90";
    EXPECT_GT(device.total_memory, 0u);
  }
}

}  // namespace
}  // namespace engine::cuda
