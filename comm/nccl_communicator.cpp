#include "comm/nccl_communicator.h"

#include <cuda_runtime.h>
#include <nccl.h>

#include <cstdlib>
#include <stdexcept>

#include "kernels/cuda/check.h"

namespace engine::comm {

namespace {

class NcclCommunicator final : public Communicator {
 public:
  NcclCommunicator(Communicator& host, int device) : host_(host), device_(device) {
    CHECK_CUDA(cudaSetDevice(device_));
    ncclUniqueId id{};
    if (host_.is_root()) CHECK_NCCL(ncclGetUniqueId(&id));
    host_.broadcast(std::span<char>(id.internal, sizeof id.internal), 0);
    CHECK_NCCL(ncclCommInitRank(&comm_, host_.size(), id, host_.rank()));
    CHECK_CUDA(cudaStreamCreateWithFlags(&stream_, cudaStreamNonBlocking));
    host_.barrier();
  }
  ~NcclCommunicator() override {
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
  void allreduce_sum(std::span<double> v) override {
    reduce(v.data(), v.size(), ncclDouble, ncclSum);
  }
  void allreduce_sum(std::span<std::int64_t> v) override {
    reduce(v.data(), v.size(), ncclInt64, ncclSum);
  }
  void allreduce_max(std::span<std::int64_t> v) override {
    reduce(v.data(), v.size(), ncclInt64, ncclMax);
  }
  void broadcast(std::span<char> bytes, int root) override {
    CHECK_NCCL(
        ncclBroadcast(bytes.data(), bytes.data(), bytes.size(), ncclChar, root, comm_, stream_));
    CHECK_CUDA(cudaStreamSynchronize(stream_));
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
  void reduce(void* data, std::size_t count, ncclDataType_t type, ncclRedOp_t op) {
    CHECK_NCCL(ncclAllReduce(data, data, count, type, op, comm_, stream_));
    CHECK_CUDA(cudaStreamSynchronize(stream_));
  }

  Communicator& host_;
  int device_;
  ncclComm_t comm_ = nullptr;
  cudaStream_t stream_ = nullptr;
};

}  // namespace

std::unique_ptr<Communicator> make_nccl(Communicator& host, int device) {
  return std::make_unique<NcclCommunicator>(host, device);
}

}  // namespace engine::comm
