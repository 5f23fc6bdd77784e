#include "engine/replicated_model.h"

#include <algorithm>
#include <chrono>
#include <future>
#include <stdexcept>

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
  for (int t = 0; t < threads; ++t) replicas_.push_back(std::make_unique<Model>(config));
  slices_.resize(static_cast<std::size_t>(threads));
  // Each replica's GEMMs run single-threaded on its own thread.
  cpu::set_blas_threads(1);
}

void ReplicatedModel::initialize(std::uint64_t seed) {
  primary().initialize(seed);
  sync();
}

void ReplicatedModel::sync() {
  const auto source = primary().parameters().values();
  for (std::size_t k = 1; k < replicas_.size(); ++k) {
    std::copy(source.begin(), source.end(), replicas_[k]->parameters().values().begin());
  }
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
  StepResult result = run_sliced(batch, [&](Model& model, const io::Batch& slice, std::size_t k) {
    if (k > 0) model.parameters().zero_grads();  // the primary accumulates across micro-batches
    return model.train_step(slice, dropout_seed, dropout_step * threads + k);
  });
  const auto sum_start = std::chrono::steady_clock::now();
  auto grads = primary().parameters().grads();
  for (std::size_t k = 1; k < slices_used(batch); ++k) {
    const auto part = replicas_[k]->parameters().grads();
    for (std::size_t i = 0; i < grads.size(); ++i) grads[i] += part[i];
  }
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
