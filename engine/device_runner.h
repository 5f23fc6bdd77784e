// The ModelRunner (engine/model_runner.h) for a DeviceModel on any Backend: parameters,
// gradients and optimizer moments in the backend's memory; after the allreduce one pass
// unscales (1 / (examples * loss scale)), checks for inf/NaN and sums squares for clipping;
// fp16 skips overflowed steps and adapts the scale (engine/loss_scaler.h). The GPU path of
// --device cuda; on the CPU backend it is what the tests compare with CpuRunner.
#pragma once

#include <memory>
#include <optional>

#include "comm/touched_rows.h"
#include "engine/backend.h"
#include "engine/device_buffer.h"
#include "engine/device_model.h"
#include "engine/loss_scaler.h"
#include "engine/model_runner.h"

namespace engine {

class DeviceRunner final : public ModelRunner {
 public:
  // device_comm sums over the backend's memory (NCCL); without one, gradients are staged
  // through host memory and the world communicator.
  // fused_recurrent: recurrent layers through the backend's library (--rnn-impl cudnn).
  DeviceRunner(const ModelConfig& model_config, const OptimizerConfig& optimizer_config,
               std::unique_ptr<Backend> backend,
               std::unique_ptr<comm::Communicator> device_comm = nullptr,
               bool fused_recurrent = false);
  ~DeviceRunner() override;

  std::string describe() const override;
  std::string memory_report() const override { return backend_->memory_summary(); }
  Model& host_model() override { return model_.host(); }
  Optimizer& host_optimizer() override { return host_optimizer_; }
  void initialize(std::uint64_t seed) override { model_.initialize(seed); }
  void push() override;
  void pull() override;

  void zero_grads() override { model_.zero_grads(); }
  StepResult train_step(const io::Batch& batch, std::uint64_t dropout_seed,
                        std::uint64_t dropout_step, bool last_of_step) override;
  StepResult evaluate(const io::Batch& batch) override { return model_.evaluate(batch); }
  Buckets reduce_gradients(comm::Communicator& world) override;
  Update update(std::int64_t rows, double clip_norm, float lr) override;

  nlohmann::json scaler_state() const override;
  void restore_scaler(const nlohmann::json& state) override;

  // With a device communicator: gradients of the step's last micro-batch are reduced in buckets
  // of at least this many floats, each started (on the communicator's stream) as soon as
  // backward has queued the layers it holds; 0: one allreduce after backward.
  void set_bucket_floats(std::size_t floats) { bucket_floats_ = floats; }

  DeviceModel& model() { return model_; }
  // Replaces the fp16 scaler (its initial scale, its overflow window); fp32 has none.
  void set_scaler(const LossScaler& scaler) {
    if (scaler_) scaler_ = scaler;
  }

 private:
  // Collective, after the other gradients: the embedding's touched rows summed.
  void reduce_embedding();

  std::unique_ptr<Backend> backend_;
  DeviceModel model_;
  OptimizerConfig optimizer_config_;
  Optimizer host_optimizer_;  // the checkpoint mirror of first_ / second_
  DeviceBuffer<float> first_, second_;
  std::size_t embedding_floats_;  // the embedding's gradient: arena [0, embedding_floats_)
  comm::TouchedRows touched_;     // its rows this step's batches used
  DeviceBuffer<std::int32_t> touched_ids_;
  DeviceBuffer<float> touched_rows_;
  std::int64_t steps_ = 0;            // optimizer steps taken (skipped steps do not count)
  std::int64_t updates_ = 0;          // update() calls, skipped or not
  std::optional<LossScaler> scaler_;  // fp16 only
  std::unique_ptr<comm::Communicator> device_comm_;
  bool fused_recurrent_;
  std::size_t bucket_floats_ = 0;
  bool overlapped_ = false;     // this step's gradients are being reduced in buckets
  std::size_t unsent_end_ = 0;  // [0, unsent_end_) not started yet this step
  std::vector<float> staging_;
};

}  // namespace engine
