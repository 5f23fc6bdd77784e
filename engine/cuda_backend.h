// The Backend interface (engine/backend.h) on one CUDA device: its own non-blocking stream,
// cuBLAS on that stream (fp32 SGEMM without TF32; fp16 operands through cublasGemmEx with fp32
// accumulation on tensor cores), the kernels of kernels/cuda, and device memory from a caching
// allocator (engine/caching_allocator.h) over cudaMalloc: plain device allocations, no managed
// memory. Built with ENGINE_WITH_CUDA; every call is checked and names what failed.
#pragma once

#include <memory>

#include "engine/backend.h"

namespace engine {

// Throws engine::cuda::CudaError when the device cannot be used.
std::unique_ptr<Backend> make_cuda_backend(int device, Precision precision);

}  // namespace engine
