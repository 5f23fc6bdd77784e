// What CUDA devices this process can use, asked without failing when there are none: the
// CUDA tests skip on machines without a GPU, and programs say so clearly.
#pragma once

#include <string>
#include <vector>

namespace engine::cuda {

struct DeviceSummary {
  int index = 0;
  std::string name;
  int compute_major = 0;
  int compute_minor = 0;
  std::size_t total_memory = 0;
};

struct CudaEnvironment {
  std::vector<DeviceSummary> devices;
  std::string unavailable_reason;  // set when devices is empty
  int runtime_version = 0;
  int driver_version = 0;
  std::string library_versions;  // cuDNN / cuBLAS / NCCL, as linked
};

CudaEnvironment probe_cuda();

}  // namespace engine::cuda
