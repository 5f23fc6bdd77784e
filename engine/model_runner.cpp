#include "engine/model_runner.h"

#include <stdexcept>

#include "engine/cpu_runner.h"

#ifdef ENGINE_HAVE_CUDA
#include "comm/nccl_communicator.h"
#include "engine/cuda_backend.h"
#include "engine/device_runner.h"
#include "kernels/cuda/device_info.h"
#endif

namespace engine {

int check_device(const TrainConfig& config) {
  if (config.device != "cuda") return 0;
#ifdef ENGINE_HAVE_CUDA
  const cuda::CudaEnvironment env = cuda::probe_cuda();
  if (env.devices.empty()) {
    throw std::runtime_error("--device cuda: no usable GPU here (" + env.unavailable_reason +
                             "); use --device cpu");
  }
  return static_cast<int>(env.devices.size());
#else
  throw std::runtime_error(
      "--device cuda: this build has no CUDA backend (configure with -DENGINE_WITH_CUDA=ON where "
      "nvcc is installed); use --device cpu");
#endif
}

std::unique_ptr<ModelRunner> make_model_runner(
    const TrainConfig& config, const ModelConfig& model_config, comm::Communicator& world,
    const std::function<void(const std::string&)>& info) {
  if (config.device == "cpu") {
    return std::make_unique<CpuRunner>(model_config, config.optimizer_config(), config.threads,
                                       config.allreduce_bucket_floats(), world, info);
  }
#ifdef ENGINE_HAVE_CUDA
  const int devices = check_device(config);
  // One GPU per rank on a node, as the launch scripts place them.
  const int device = world.local_rank() % devices;
  auto backend = make_cuda_backend(device, parse_precision(config.precision));
  std::unique_ptr<comm::Communicator> nccl;
  if (world.size() > 1) nccl = comm::make_nccl(world, device, backend->native_stream());
  auto runner =
      std::make_unique<DeviceRunner>(model_config, config.optimizer_config(), std::move(backend),
                                     std::move(nccl), config.rnn_impl == "cudnn");
  runner->set_scaler(LossScaler({.init_scale = initial_loss_scale(config.batch_size)}));
  runner->set_bucket_floats(config.allreduce_bucket_floats());
  return runner;
#else
  (void)model_config;
  (void)world;
  (void)info;
  check_device(config);
  return nullptr;  // not reached: check_device throws in a build without CUDA
#endif
}

}  // namespace engine
