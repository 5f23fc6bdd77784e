#include "kernels/cuda/check.h"
#include "kernels/cuda/device_info.h"

namespace engine::cuda {

CudaEnvironment probe_cuda() {
  CudaEnvironment env;
  cudaRuntimeGetVersion(&env.runtime_version);
  cudaDriverGetVersion(&env.driver_version);
  int nccl_version = 0;
  ncclGetVersion(&nccl_version);
  env.library_versions = "cuDNN " + std::to_string(cudnnGetVersion()) + ", cuBLAS " +
                         std::to_string(CUBLAS_VERSION) + ", NCCL " + std::to_string(nccl_version);
  int count = 0;  // left unwritten when the call fails
  const cudaError_t status = cudaGetDeviceCount(&count);
  if (status != cudaSuccess) {
    env.unavailable_reason = std::string("no usable CUDA device: ") + cudaGetErrorString(status);
    cudaGetLastError();  // clear the sticky error
    return env;
  }
  if (count == 0) {
    env.unavailable_reason = "no CUDA device present";
    return env;
  }
  for (int i = 0; i < count; ++i) {
    cudaDeviceProp props{};
    CHECK_CUDA(cudaGetDeviceProperties(&props, i));
    env.devices.push_back({i, props.name, props.major, props.minor, props.totalGlobalMem});
  }
  return env;
}

}  // namespace engine::cuda
