#include "engine/replicated_model.h"

#include <algorithm>
#include <chrono>
#include <future>
#include <stdexcept>

#include "engine/split_range.h"
#include "kernels/cpu/gemm.h"

namespace engine {

namespace {

// Rows [begin, end) of a batch as a batch of its own (same padded width).
void slice_batch(const io::Batch& batch, std::size_t begin, std::size_t end, io::Batch& out) {
  const auto first = static_cast<std::ptrdiff_t>(begin), last = static_cast<std::ptrdiff_t>(end);
  out.epoch = batch.epoch;
  out.step = batch.step;
  out.rows = end - begin;
  out.max_len = batch.max_len;
  out.tokens.assign(batch.tokens.begin() + first * static_cast<std::ptrdiff_t>(batch.max_len),
                    batch.tokens.begin() + last * static_cast<std::ptrdiff_t>(batch.max_len));
  out.lengths.assign(batch.lengths.begin() + first, batch.lengths.begin() + last);
  out.labels.assign(batch.labels.begin() + first, batch.labels.begin() + last);
  out.example_ids.clear();
}

}  // namespace

ReplicatedModel::ReplicatedModel(const ModelConfig& config, int threads) {
  if (threads < 1) throw std::invalid_argument("threads must be at least 1");
  for (int t = 0; t < threads; ++t) {
    replicas_.push_back(std::make_unique<Model>(config));
    if (t > 0) replicas_.back()->parameters().share_values_with(primary().parameters());
  }
  slices_.resize(static_cast<std::size_t>(threads));
  // Each replica's GEMMs run single-threaded on its own thread.
  cpu::set_blas_threads(1);
}

void ReplicatedModel::initialize(std::uint64_t seed) {
  primary().initialize(seed);
}

template <typename Step>
StepResult ReplicatedModel::run_sliced(const io::Batch& batch, Step&& step) {
  const std::size_t count = slices_used(batch);
  if (count == 1) return step(*replicas_.front(), batch, 0);
  std::vector<std::future<StepResult>> pending;
  for (std::size_t k = 0; k < count; ++k) {
    slice_batch(batch, k * batch.rows / count, (k + 1) * batch.rows / count, slices_[k]);
  }
  for (std::size_t k = 1; k < count; ++k) {
    pending.push_back(
        std::async(std::launch::async, [&, k] { return step(*replicas_[k], slices_[k], k); }));
  }
  StepResult total = step(*replicas_.front(), slices_.front(), 0);
  for (auto& part : pending) {
    const StepResult r = part.get();
    total.loss_sum += r.loss_sum;
    total.rows += r.rows;
    total.correct += r.correct;
    total.predictions.insert(total.predictions.end(), r.predictions.begin(), r.predictions.end());
    // The slices run side by side: a pass takes as long as its slowest slice.
    total.forward_seconds = std::max(total.forward_seconds, r.forward_seconds);
    total.backward_seconds = std::max(total.backward_seconds, r.backward_seconds);
  }
  return total;
}

StepResult ReplicatedModel::train_step(const io::Batch& batch, std::uint64_t dropout_seed,
                                       std::uint64_t dropout_step) {
  const auto threads = static_cast<std::uint64_t>(replicas_.size());
  if (replica_grads_dirty_) {  // a step that never got to its sum (it threw)
    for (std::size_t k = 1; k < replicas_.size(); ++k) replicas_[k]->parameters().zero_grads();
  }
  replica_grads_dirty_ = true;
  StepResult result = run_sliced(batch, [&](Model& model, const io::Batch& slice, std::size_t k) {
    return model.train_step(slice, dropout_seed, dropout_step * threads + k);
  });
  // The other replicas' gradients are added to the primary's (which accumulates across
  // micro-batches) in replica order and zeroed for their next step, each thread taking a piece
  // of the arena.
  const auto sum_start = std::chrono::steady_clock::now();
  const std::size_t used = slices_used(batch);
  const auto grads = primary().parameters().grads();
  split_range(used > 1 ? grads.size() : 0, replicas_.size(),
              [&](std::size_t begin, std::size_t end) {
                for (std::size_t k = 1; k < used; ++k) {
                  float* __restrict part = replicas_[k]->parameters().grads().data();
                  float* __restrict total = grads.data();
                  for (std::size_t i = begin; i < end; ++i) {
                    total[i] += part[i];
                    part[i] = 0.0f;
                  }
                }
              });
  replica_grads_dirty_ = false;
  result.backward_seconds +=
      std::chrono::duration<double>(std::chrono::steady_clock::now() - sum_start).count();
  return result;
}

StepResult ReplicatedModel::evaluate(const io::Batch& batch) {
  return run_sliced(batch, [](Model& model, const io::Batch& slice, std::size_t) {
    return model.evaluate(slice);
  });
}

}  // namespace engine
