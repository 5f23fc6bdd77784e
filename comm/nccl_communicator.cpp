#include "comm/nccl_communicator.h"

#include <cuda_runtime.h>
#include <nccl.h>

#include <chrono>
#include <cstdlib>
#include <stdexcept>
#include <string>
#include <thread>

#include "kernels/cuda/check.h"

namespace engine::comm {

namespace {

class NcclCommunicator final : public Communicator {
 public:
  NcclCommunicator(Communicator& host, int device, cudaStream_t compute, double timeout_seconds)
      : host_(host), device_(device), compute_(compute), timeout_seconds_(timeout_seconds) {
    CHECK_CUDA(cudaSetDevice(device_));
    ncclUniqueId id{};
    if (host_.is_root()) CHECK_NCCL(ncclGetUniqueId(&id));
    host_.broadcast(std::span<char>(id.internal, sizeof id.internal), 0);
    CHECK_NCCL(ncclCommInitRank(&comm_, host_.size(), id, host_.rank()));
    CHECK_CUDA(cudaStreamCreateWithFlags(&stream_, cudaStreamNonBlocking));
    CHECK_CUDA(cudaEventCreateWithFlags(&compute_done_, cudaEventDisableTiming));
    host_.barrier();
  }
  ~NcclCommunicator() override {
    cudaEventDestroy(compute_done_);
    cudaStreamDestroy(stream_);
    ncclCommDestroy(comm_);
  }
  NcclCommunicator(const NcclCommunicator&) = delete;
  NcclCommunicator& operator=(const NcclCommunicator&) = delete;

  int rank() const override { return host_.rank(); }
  int size() const override { return host_.size(); }
  int local_rank() const override { return host_.local_rank(); }
  std::string name() const override {
    return "NCCL, " + std::to_string(size()) + " ranks (GPU " + std::to_string(device_) + ")";
  }
  void allreduce_sum(std::span<float> v) override {
    reduce(v.data(), v.size(), ncclFloat, ncclSum);
  }
  void start_allreduce_sum(std::span<float> v) override {
    after_compute();
    CHECK_NCCL(ncclAllReduce(v.data(), v.data(), v.size(), ncclFloat, ncclSum, comm_, stream_));
  }
  void finish_allreduces() override { wait("allreduce"); }
  void allreduce_sum(std::span<double> v) override {
    reduce(v.data(), v.size(), ncclDouble, ncclSum);
  }
  void allreduce_sum(std::span<std::int64_t> v) override {
    reduce(v.data(), v.size(), ncclInt64, ncclSum);
  }
  void allreduce_max(std::span<std::int64_t> v) override {
    reduce(v.data(), v.size(), ncclInt64, ncclMax);
  }
  void allreduce_or(std::span<std::uint64_t> bits) override { host_.allreduce_or(bits); }
  void broadcast(std::span<char> bytes, int root) override {
    after_compute();
    CHECK_NCCL(
        ncclBroadcast(bytes.data(), bytes.data(), bytes.size(), ncclChar, root, comm_, stream_));
    wait("broadcast");
  }
  std::vector<std::string> gather(const std::string& value, int root) override {
    return host_.gather(value, root);
  }
  void barrier() override { host_.barrier(); }
  std::unique_ptr<Communicator> split(int, int) override {
    throw std::logic_error("split the host communicator and bootstrap NCCL on each part");
  }
  void send_string(const std::string& value, int destination, int tag) override {
    host_.send_string(value, destination, tag);
  }
  std::string receive_string(int source, int tag) override {
    return host_.receive_string(source, tag);
  }
  std::optional<std::pair<int, std::string>> try_receive_string(int tag) override {
    return host_.try_receive_string(tag);
  }
  [[noreturn]] void abort(int code) override {
    ncclCommAbort(comm_);
    host_.abort(code);
    std::exit(code);  // (host_.abort does not return either)
  }

 private:
  // The collective's stream waits for what the compute stream has queued (an event, no host
  // synchronisation).
  void after_compute() {
    if (compute_ == nullptr) return;
    CHECK_CUDA(cudaEventRecord(compute_done_, compute_));
    CHECK_CUDA(cudaStreamWaitEvent(stream_, compute_done_, 0));
  }

  void reduce(void* data, std::size_t count, ncclDataType_t type, ncclRedOp_t op) {
    after_compute();
    CHECK_NCCL(ncclAllReduce(data, data, count, type, op, comm_, stream_));
    wait("allreduce");
  }

  // Waits for the collective while polling NCCL's asynchronous error state, so a failed or
  // vanished peer ends this rank with an error (and the communicator aborted) instead of a hang.
  void wait(const char* what) {
    const auto start = std::chrono::steady_clock::now();
    for (;;) {
      const cudaError_t state = cudaStreamQuery(stream_);
      if (state == cudaSuccess) return;
      if (state != cudaErrorNotReady) CHECK_CUDA(state);
      ncclResult_t async = ncclSuccess;
      CHECK_NCCL(ncclCommGetAsyncError(comm_, &async));
      if (async != ncclSuccess) {
        ncclCommAbort(comm_);
        throw cuda::CudaError(std::string("NCCL ") + what + " failed on rank " +
                              std::to_string(rank()) + ": " + ncclGetErrorString(async) +
                              " (a peer rank failed or left)");
      }
      const double waited =
          std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
      if (waited > timeout_seconds_) {
        ncclCommAbort(comm_);
        throw cuda::CudaError(std::string("NCCL ") + what + " on rank " + std::to_string(rank()) +
                              " made no progress in " + std::to_string(timeout_seconds_) +
                              " s: a peer rank is gone or stuck");
      }
      std::this_thread::sleep_for(std::chrono::microseconds(20));
    }
  }

  Communicator& host_;
  int device_;
  cudaStream_t compute_;  // where the tensors are produced (may be null: the legacy stream)
  double timeout_seconds_;
  ncclComm_t comm_ = nullptr;
  cudaStream_t stream_ = nullptr;
  cudaEvent_t compute_done_ = nullptr;
};

}  // namespace

std::unique_ptr<Communicator> make_nccl(Communicator& host, int device, void* compute_stream,
                                        double timeout_seconds) {
  return std::make_unique<NcclCommunicator>(host, device, static_cast<cudaStream_t>(compute_stream),
                                            timeout_seconds);
}

}  // namespace engine::comm
