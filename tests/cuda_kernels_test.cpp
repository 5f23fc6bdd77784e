// The CUDA pointwise kernels against the CPU drivers over the same kernels/math functions:
// normalised error per output <= 1e-5 (the GPU uses the hardware exp, the CPU our polynomial).
// Skipped, with the reason, where no GPU is present; run on a GPU machine with `ctest -R Cuda`.
#include <gtest/gtest.h>

#include <limits>
#include <random>
#include <vector>

#include "kernels/cpu/loss_scale.h"
#include "kernels/cpu/rnn_pointwise.h"
#include "kernels/cuda/check.h"
#include "kernels/cuda/device_info.h"
#include "kernels/cuda/loss_scale.h"
#include "kernels/cuda/rnn_pointwise.h"

namespace engine::cuda {
namespace {

// A device copy of a host vector, freed at scope exit.
class DeviceBuffer {
 public:
  explicit DeviceBuffer(const std::vector<float>& host) : size_(host.size()) {
    CHECK_CUDA(cudaMalloc(&data_, size_ * sizeof(float)));
    CHECK_CUDA(cudaMemcpy(data_, host.data(), size_ * sizeof(float), cudaMemcpyHostToDevice));
  }
  ~DeviceBuffer() { cudaFree(data_); }
  DeviceBuffer(const DeviceBuffer&) = delete;
  DeviceBuffer& operator=(const DeviceBuffer&) = delete;
  float* get() { return data_; }
  std::vector<float> to_host() const {
    std::vector<float> out(size_);
    CHECK_CUDA(cudaMemcpy(out.data(), data_, size_ * sizeof(float), cudaMemcpyDeviceToHost));
    return out;
  }

 private:
  float* data_ = nullptr;
  std::size_t size_;
};

std::vector<float> random_vector(std::size_t n, std::mt19937& rng) {
  std::uniform_real_distribution<float> u(-3.0f, 3.0f);
  std::vector<float> v(n);
  for (auto& x : v) x = u(rng);
  return v;
}

void expect_close(const std::vector<float>& gpu, const std::vector<float>& cpu, const char* what) {
  ASSERT_EQ(gpu.size(), cpu.size());
  double error = 0, scale = 1e-12;
  for (std::size_t i = 0; i < gpu.size(); ++i) {
    error = std::max(error, static_cast<double>(std::abs(gpu[i] - cpu[i])));
    scale = std::max(scale, static_cast<double>(std::abs(cpu[i])));
  }
  EXPECT_LE(error / scale, 1e-5) << what;
}

class CudaKernels : public testing::Test {
 protected:
  void SetUp() override {
    const CudaEnvironment env = probe_cuda();
    if (env.devices.empty()) GTEST_SKIP() << "skipped: " << env.unavailable_reason;
  }
};

TEST_F(CudaKernels, LstmForwardRowsMatchTheCpuDriver) {
  constexpr int rows = 37, H = 65;
  std::mt19937 rng(1);
  const auto p = random_vector(rows * 4 * H, rng), u = random_vector(rows * 4 * H, rng),
             c_prev = random_vector(rows * H, rng);
  std::vector<float> keep(rows * 4 * H), c(rows * H), h(rows * H);
  for (int r = 0; r < rows; ++r) {
    cpu::lstm_forward_row(H, &p[r * 4 * H], &u[r * 4 * H], &c_prev[r * H], &keep[r * 4 * H],
                          &c[r * H], &h[r * H]);
  }
  DeviceBuffer dp(p), du(u), dc_prev(c_prev), dkeep(keep), dc(c), dh(h);
  lstm_forward_rows(rows, H, dp.get(), du.get(), dc_prev.get(), dkeep.get(), dc.get(), dh.get(),
                    nullptr);
  CHECK_CUDA(cudaDeviceSynchronize());
  expect_close(dkeep.to_host(), keep, "gates");
  expect_close(dc.to_host(), c, "cell state");
  expect_close(dh.to_host(), h, "hidden state");
}

TEST_F(CudaKernels, GruForwardRowsMatchTheCpuDriver) {
  constexpr int rows = 29, H = 33;
  std::mt19937 rng(2);
  const auto p = random_vector(rows * 3 * H, rng), u = random_vector(rows * 3 * H, rng),
             h_prev = random_vector(rows * H, rng);
  std::vector<float> keep(rows * 4 * H), h(rows * H);
  for (int r = 0; r < rows; ++r) {
    cpu::gru_forward_row(H, &p[r * 3 * H], &u[r * 3 * H], &h_prev[r * H], &keep[r * 4 * H],
                         &h[r * H]);
  }
  DeviceBuffer dp(p), du(u), dh_prev(h_prev), dkeep(keep), dh(h);
  gru_forward_rows(rows, H, dp.get(), du.get(), dh_prev.get(), dkeep.get(), dh.get(), nullptr);
  CHECK_CUDA(cudaDeviceSynchronize());
  expect_close(dkeep.to_host(), keep, "gates");
  expect_close(dh.to_host(), h, "hidden state");
}

TEST_F(CudaKernels, UnscaleAndCheckMatchesTheCpuDriver) {
  std::mt19937 rng(3);
  auto grads = random_vector(100003, rng);
  for (const bool poisoned : {false, true}) {
    if (poisoned) grads[77777] = std::numeric_limits<float>::infinity();
    auto cpu_grads = grads;
    const bool cpu_found = cpu::unscale_and_check(cpu_grads, 1.0f / 1024);
    DeviceBuffer dg(grads);
    int* flag = nullptr;
    CHECK_CUDA(cudaMalloc(&flag, sizeof(int)));
    CHECK_CUDA(cudaMemset(flag, 0, sizeof(int)));
    unscale_and_check(dg.get(), static_cast<long long>(grads.size()), 1.0f / 1024, flag, nullptr);
    int found = 0;
    CHECK_CUDA(cudaMemcpy(&found, flag, sizeof(int), cudaMemcpyDeviceToHost));
    cudaFree(flag);
    EXPECT_EQ(found != 0, cpu_found);
    EXPECT_EQ(cpu_found, poisoned);
    if (!poisoned) {
      EXPECT_EQ(dg.to_host(), cpu_grads);  // one multiply: bit-identical
    }
  }
}

}  // namespace
}  // namespace engine::cuda
