// What the training loop drives on one rank, one optimizer step at a time, whatever the backend:
//   --device cpu:  ReplicatedModel (--threads replicas) and the host Optimizer; gradients summed
//                  with the host communicator (MPI), in buckets during backward when it can.
//   --device cuda: DeviceModel on the CUDA backend with the optimizer state in device memory,
//                  gradients summed by NCCL on device memory, and --precision fp16 mixed
//                  precision with dynamic loss scaling.
// Checkpoints read and write the host Model and Optimizer: pull() brings the backend's state
// there before a save, push() sends it back after a load.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "comm/bucketed_allreduce.h"
#include "comm/communicator.h"
#include "engine/model.h"
#include "engine/optimizer.h"
#include "engine/train_config.h"
#include "io/loader.h"

namespace engine {

class ModelRunner {
 public:
  struct Update {
    double grad_norm = 0;  // before clipping (NaN for a skipped step)
    bool skipped = false;  // fp16: inf/NaN gradients, so the optimizer did not step
    float loss_scale = 1;  // the scale this step's gradients were computed with
  };
  using Buckets = std::vector<comm::BucketedAllreduce::Bucket>;

  virtual ~ModelRunner() = default;
  virtual std::string describe() const = 0;  // for the start-up log
  // Device memory held, when there is a device (logged after the first step); empty otherwise.
  virtual std::string memory_report() const { return {}; }
  virtual Model& host_model() = 0;
  virtual Optimizer& host_optimizer() = 0;
  virtual void initialize(std::uint64_t seed) = 0;
  virtual void push() = 0;  // host model and optimizer -> backend (after a load)
  virtual void pull() = 0;  // backend -> host model and optimizer (before a save)

  virtual void zero_grads() = 0;
  // ACCUMULATES the batch's summed-loss gradient. `last_of_step`: the step's last micro-batch,
  // whose gradients may be reduced while its backward runs.
  virtual StepResult train_step(const io::Batch& batch, std::uint64_t dropout_seed,
                                std::uint64_t dropout_step, bool last_of_step) = 0;
  virtual StepResult evaluate(const io::Batch& batch) = 0;
  // Sums the step's gradients across ranks; returns the buckets reduced during backward.
  virtual Buckets reduce_gradients(comm::Communicator& world) = 0;
  // Averages over `rows` examples (all ranks), checks (fp16), clips and steps the optimizer.
  virtual Update update(std::int64_t rows, double clip_norm, float lr) = 0;

  // Mixed-precision state for checkpoints: null when there is none.
  virtual nlohmann::json scaler_state() const { return nullptr; }
  virtual void restore_scaler(const nlohmann::json& /*state*/) {}
};

// Throws the clear error make_model_runner would when --device cuda cannot be served (call it
// before anything is written); returns the number of GPUs (0 for --device cpu).
int check_device(const TrainConfig& config);

// The runner --device and --precision ask for; throws with a clear message when the device
// is missing (no GPU, or a build without CUDA).
std::unique_ptr<ModelRunner> make_model_runner(const TrainConfig& config,
                                               const ModelConfig& model_config,
                                               comm::Communicator& world,
                                               const std::function<void(const std::string&)>& info);

}  // namespace engine
