#include "engine/cpu_runner.h"

#include "kernels/cpu/gemm.h"

namespace engine {

CpuRunner::CpuRunner(const ModelConfig& model_config, const OptimizerConfig& optimizer_config,
                     int threads, std::size_t bucket_floats, comm::Communicator& world,
                     const std::function<void(const std::string&)>& info)
    : replicas_(model_config, threads),
      optimizer_(optimizer_config, replicas_.primary().parameters().size()),
      embedding_floats_(replicas_.primary().parameters().slice("embedding.weight").size),
      touched_(static_cast<std::size_t>(model_config.vocab_size)) {
  if (world.size() == 1 || threads != 1 || bucket_floats == 0) return;
  std::int64_t unable = world.threads_can_communicate() ? 0 : 1;  // every rank must be able
  world.allreduce_max(std::span<std::int64_t>(&unable, 1));
  if (unable == 0) {
    buckets_ =
        std::make_unique<comm::BucketedAllreduce>(world.split(0, world.rank()), bucket_floats);
  } else if (world.is_root()) {
    info(
        "[train] this MPI lets only one thread communicate: gradients are reduced after "
        "backward, not during it");
  }
}

std::string CpuRunner::describe() const {
  return "cpu, " + std::to_string(replicas_.threads()) + " thread(s) per rank, fp32, " +
         cpu::blas_description();
}

StepResult CpuRunner::train_step(const io::Batch& batch, std::uint64_t dropout_seed,
                                 std::uint64_t dropout_step, bool last_of_step) {
  Model& model = replicas_.primary();
  touched_.touch_all(batch.tokens);
  // The last micro-batch of the step finishes the gradients: reduce the layers above the
  // embedding as they are done (the arena's offsets shifted past the embedding).
  if (buckets_ && last_of_step) {
    buckets_->start(model.parameters().grads().subspan(embedding_floats_));
    model.set_grads_ready([this](std::size_t offset) {
      buckets_->ready_from(offset > embedding_floats_ ? offset - embedding_floats_ : 0);
    });
    overlapped_ = true;
  }
  grads_zero_ = false;
  StepResult result = replicas_.train_step(batch, dropout_seed, dropout_step);
  if (overlapped_) model.set_grads_ready({});
  return result;
}

ModelRunner::Buckets CpuRunner::reduce_gradients(comm::Communicator& world) {
  const auto grads = replicas_.primary().parameters().grads();
  Buckets buckets;
  if (overlapped_) {
    overlapped_ = false;
    buckets = buckets_->finish();
  } else {
    world.allreduce_sum(grads.subspan(embedding_floats_));
  }
  touched_.allreduce_sum(world, grads.first(embedding_floats_),
                         static_cast<std::size_t>(replicas_.primary().config().embed));
  return buckets;
}

ModelRunner::Update CpuRunner::update(std::int64_t rows, double clip_norm, float lr) {
  ParameterArena& arena = replicas_.primary().parameters();
  Update result;
  result.grad_norm =
      optimizer_.step_scaled(arena.values(), arena.grads(), 1.0f / static_cast<float>(rows),
                             clip_norm, lr, replicas_.threads());
  grads_zero_ = true;
  return result;
}

}  // namespace engine
