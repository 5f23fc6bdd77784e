// --threads T on the CPU: T replicas of the model, each on its own thread with single-threaded
// BLAS, each running forward and backward on a contiguous slice of the batch (data parallelism
// inside one process). The replicas share the primary's weights (they only read them);
// gradients are summed into the primary's arena, which the optimizer updates.
// Why not BLAS threads: the recurrent GEMMs are small (batch x 4H x H per step) and scale
// poorly across threads, while slices of the batch are independent work.
// Results depend on T (slices pack and draw dropout masks differently) and are deterministic
// for a given T.
#pragma once

#include <algorithm>
#include <memory>
#include <vector>

#include "engine/model.h"

namespace engine {

class ReplicatedModel {
 public:
  ReplicatedModel(const ModelConfig& config, int threads);

  Model& primary() { return *replicas_.front(); }
  const Model& primary() const { return *replicas_.front(); }
  const ModelConfig& config() const { return primary().config(); }
  int threads() const { return static_cast<int>(replicas_.size()); }

  void initialize(std::uint64_t seed);

  // Gradients of the batch's summed loss ACCUMULATE into the primary's gradient arena.
  StepResult train_step(const io::Batch& batch, std::uint64_t dropout_seed,
                        std::uint64_t dropout_step);
  StepResult evaluate(const io::Batch& batch);

 private:
  template <typename Step>
  StepResult run_sliced(const io::Batch& batch, Step&& step);
  // How many replicas a batch keeps busy (each slice gets at least one row).
  std::size_t slices_used(const io::Batch& batch) const {
    return std::min(replicas_.size(), std::max<std::size_t>(batch.rows, 1));
  }

  std::vector<std::unique_ptr<Model>> replicas_;
  std::vector<io::Batch> slices_;
  bool replica_grads_dirty_ = false;  // the other replicas' gradients may not be zero
};

}  // namespace engine
