// The CPU ModelRunner (engine/model_runner.h): --threads model replicas, the host optimizer,
// and with several ranks the gradient allreduce: the layers above the embedding in buckets on a
// communication thread while backward runs (when the MPI lets threads communicate and
// --allreduce-bucket-mb > 0), then the embedding's gradient, final last, summed over only the
// rows some rank's batches touched (comm/touched_rows.h; equal to a dense sum).
#pragma once

#include <memory>

#include "comm/touched_rows.h"
#include "engine/model_runner.h"
#include "engine/replicated_model.h"

namespace engine {

class CpuRunner final : public ModelRunner {
 public:
  CpuRunner(const ModelConfig& model_config, const OptimizerConfig& optimizer_config, int threads,
            std::size_t bucket_floats, comm::Communicator& world,
            const std::function<void(const std::string&)>& info);

  std::string describe() const override;
  Model& host_model() override { return replicas_.primary(); }
  Optimizer& host_optimizer() override { return optimizer_; }
  void initialize(std::uint64_t seed) override { replicas_.initialize(seed); }
  void push() override {}  // the replicas share the host model's weights
  void pull() override {}

  // update() leaves the gradients zeroed; only the first step (or one after a failed check)
  // needs the sweep.
  void zero_grads() override {
    if (!grads_zero_) replicas_.primary().parameters().zero_grads();
    grads_zero_ = true;
  }
  StepResult train_step(const io::Batch& batch, std::uint64_t dropout_seed,
                        std::uint64_t dropout_step, bool last_of_step) override;
  StepResult evaluate(const io::Batch& batch) override { return replicas_.evaluate(batch); }
  Buckets reduce_gradients(comm::Communicator& world) override;
  Update update(std::int64_t rows, double clip_norm, float lr) override;

 private:
  ReplicatedModel replicas_;
  Optimizer optimizer_;
  std::unique_ptr<comm::BucketedAllreduce> buckets_;
  bool overlapped_ = false;       // this step's gradients are being reduced in buckets
  bool grads_zero_ = false;       // the gradient arena holds zeros
  std::size_t embedding_floats_;  // the embedding's gradient: arena [0, embedding_floats_)
  comm::TouchedRows touched_;     // its rows this step's batches used
};

}  // namespace engine
