// The NCCL communicator under mpiexec: bootstrapped through MPI, collectives on device memory
// with closed-form results. Needs one GPU per rank; skips with the reason otherwise.
#include "comm/nccl_communicator.h"

#include <cuda_runtime.h>
#include <gtest/gtest.h>

#include <cstdlib>
#include <numeric>
#include <vector>

#include "comm/communicator.h"

namespace engine {
namespace {

comm::Communicator* world = nullptr;

template <typename T>
struct DeviceBuffer {
  explicit DeviceBuffer(const std::vector<T>& host) : size(host.size()) {
    cudaMalloc(&data, size * sizeof(T));
    cudaMemcpy(data, host.data(), size * sizeof(T), cudaMemcpyHostToDevice);
  }
  ~DeviceBuffer() { cudaFree(data); }
  std::vector<T> read() const {
    std::vector<T> host(size);
    cudaMemcpy(host.data(), data, size * sizeof(T), cudaMemcpyDeviceToHost);
    return host;
  }
  T* data = nullptr;
  std::size_t size;
};

TEST(NcclCommunicator, CollectivesOnDeviceMemoryGiveClosedFormResults) {
  int devices = 0;
  if (cudaGetDeviceCount(&devices) != cudaSuccess || devices < world->size())
    GTEST_SKIP() << "skipped: NCCL needs one GPU per rank (" << world->size() << " ranks, "
                 << devices << " GPU(s) here)";
  const auto nccl = comm::make_nccl(*world, world->local_rank() % devices);
  const int n = nccl->size(), r = nccl->rank();
  EXPECT_NE(nccl->name().find("NCCL"), std::string::npos);

  // Sum: rank r contributes (r + 1) * (i + 1) at index i.
  std::vector<float> values(1 << 20);
  for (std::size_t i = 0; i < values.size(); ++i)
    values[i] = static_cast<float>((r + 1) * static_cast<int>(i % 1000 + 1));
  DeviceBuffer<float> floats(values);
  nccl->allreduce_sum(std::span<float>(floats.data, floats.size));
  const auto summed = floats.read();
  const float ranks_sum = static_cast<float>(n * (n + 1) / 2);
  for (std::size_t i = 0; i < summed.size(); i += 4099)
    ASSERT_FLOAT_EQ(summed[i], ranks_sum * static_cast<float>(i % 1000 + 1)) << i;

  DeviceBuffer<std::int64_t> counts(std::vector<std::int64_t>{r, 10 * r});
  nccl->allreduce_max(std::span<std::int64_t>(counts.data, counts.size));
  EXPECT_EQ(counts.read(), (std::vector<std::int64_t>{n - 1, 10 * (n - 1)}));

  std::vector<char> text(16, static_cast<char>('a' + r));
  DeviceBuffer<char> bytes(text);
  nccl->broadcast(std::span<char>(bytes.data, bytes.size), n - 1);
  EXPECT_EQ(bytes.read(), std::vector<char>(16, static_cast<char>('a' + n - 1)));

  const auto names = nccl->gather(std::to_string(r), 0);  // strings go through MPI
  if (r == 0) {
    EXPECT_EQ(names.size(), static_cast<std::size_t>(n));
  }
}

}  // namespace
}  // namespace engine

int main(int argc, char** argv) {
  auto communicator = engine::comm::make_default(&argc, &argv);
  engine::world = communicator.get();
  testing::InitGoogleTest(&argc, argv);
  if (!communicator->is_root()) {  // one report
    delete testing::UnitTest::GetInstance()->listeners().Release(
        testing::UnitTest::GetInstance()->listeners().default_result_printer());
  }
  std::int64_t failed = RUN_ALL_TESTS();
  communicator->allreduce_max(std::span<std::int64_t>(&failed, 1));
  return static_cast<int>(failed);
}
