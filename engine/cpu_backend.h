// The Backend interface (engine/backend.h) on host memory: BLAS GEMM (kernels/cpu/gemm.h) and
// the CPU loop drivers over kernels/math. It runs DeviceModel on every machine, which is how the
// step logic shared with the CUDA backend is tested without a GPU; fp16 rounds the GEMM operands
// to half exactly as the GPU stores them (kernels/math/half.h). BLAS runs single-threaded.
#pragma once

#include <memory>

#include "engine/backend.h"

namespace engine {

std::unique_ptr<Backend> make_cpu_backend(Precision precision = Precision::kFp32);

}  // namespace engine
