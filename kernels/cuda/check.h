// Error checks for CUDA-family calls: each names the failing expression, file and line.
#pragma once

#include <cublas_v2.h>
#include <cuda_runtime.h>
#include <cudnn.h>
#include <nccl.h>

#include <stdexcept>
#include <string>

namespace engine::cuda {

class CudaError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

[[noreturn]] inline void fail(const char* library, const std::string& detail, const char* expr,
                              const char* file, int line) {
  throw CudaError(std::string(library) + " error: " + detail + " in `" + expr + "` at " + file +
                  ":" + std::to_string(line));
}

}  // namespace engine::cuda

#define CHECK_CUDA(expr)                                                                           \
  do {                                                                                             \
    const cudaError_t engine_status_ = (expr);                                                     \
    if (engine_status_ != cudaSuccess)                                                             \
      ::engine::cuda::fail("CUDA", cudaGetErrorString(engine_status_), #expr, __FILE__, __LINE__); \
  } while (0)

#define CHECK_CUBLAS(expr)                                                                   \
  do {                                                                                       \
    const cublasStatus_t engine_status_ = (expr);                                            \
    if (engine_status_ != CUBLAS_STATUS_SUCCESS)                                             \
      ::engine::cuda::fail("cuBLAS", cublasGetStatusString(engine_status_), #expr, __FILE__, \
                           __LINE__);                                                        \
  } while (0)

#define CHECK_CUDNN(expr)                                                                 \
  do {                                                                                    \
    const cudnnStatus_t engine_status_ = (expr);                                          \
    if (engine_status_ != CUDNN_STATUS_SUCCESS)                                           \
      ::engine::cuda::fail("cuDNN", cudnnGetErrorString(engine_status_), #expr, __FILE__, \
                           __LINE__);                                                     \
  } while (0)

#define CHECK_NCCL(expr)                                                                           \
  do {                                                                                             \
    const ncclResult_t engine_status_ = (expr);                                                    \
    if (engine_status_ != ncclSuccess)                                                             \
      ::engine::cuda::fail("NCCL", ncclGetErrorString(engine_status_), #expr, __FILE__, __LINE__); \
  } while (0)
