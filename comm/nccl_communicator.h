// NCCL on device memory, bootstrapped through the host (MPI) communicator, as DESIGN.md says:
// the local rank picks the GPU, rank 0 makes the unique id, MPI broadcasts its bytes, every rank
// joins with ncclCommInitRank, then a barrier. The numeric collectives (allreduce, broadcast)
// take DEVICE pointers (spans over device memory, never dereferenced on the host) and run on the
// communicator's own stream, which they wait for; strings (gather, point to point) and barriers
// go through the host communicator. Built whenever CUDA is (ENGINE_WITH_CUDA).
#pragma once

#include <memory>

#include "comm/communicator.h"

namespace engine::comm {

// `host` must outlive the result. Collectives start after the work queued on compute_stream
// (a cudaStream_t; null: the legacy default stream), ordered with an event, and wait while
// polling ncclCommGetAsyncError: an asynchronous error, or no progress in timeout_seconds (a
// peer that died), aborts the communicator and throws. Throws engine::cuda::CudaError naming the
// failing call.
std::unique_ptr<Communicator> make_nccl(Communicator& host, int device,
                                        void* compute_stream = nullptr,
                                        double timeout_seconds = 300);

}  // namespace engine::comm
