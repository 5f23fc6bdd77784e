#include "io/loader.h"

#include <algorithm>
#include <numeric>
#include <stdexcept>
#include <string>

#include "io/splitmix.h"

namespace engine::io {

namespace {

std::uint64_t stream_seed(std::uint64_t seed, std::int64_t epoch, std::int64_t stream) {
  SplitMix64 mixer(seed ^ (static_cast<std::uint64_t>(epoch) * 0xd1b54a32d192ed03ULL) ^
                   (static_cast<std::uint64_t>(stream) << 48));
  return mixer.next();
}

}  // namespace

namespace {

std::int64_t steps_for(std::int64_t examples, std::int64_t world, std::size_t batch) {
  const std::int64_t per_rank = (examples + world - 1) / world;
  const auto b = static_cast<std::int64_t>(batch);
  return (per_rank + b - 1) / b;
}

// The batches of options.rank in `epoch`: the seeded permutation without `excluded` (sorted),
// strided across ranks, optionally length-bucketed, padded with empty batches to `steps`.
std::vector<std::vector<std::int64_t>> plan_batches(const SplitData& data,
                                                    const LoaderOptions& options,
                                                    std::int64_t epoch,
                                                    const std::vector<std::int64_t>& excluded,
                                                    std::int64_t steps) {
  const auto n = static_cast<std::int64_t>(data.size());
  std::vector<std::int64_t> order(static_cast<std::size_t>(n));
  std::iota(order.begin(), order.end(), 0);
  if (options.shuffle) {
    SplitMix64 rng(stream_seed(options.seed, epoch, 0));
    shuffle(order, rng);
  }
  if (!excluded.empty()) {
    std::erase_if(order, [&](std::int64_t id) {
      return std::binary_search(excluded.begin(), excluded.end(), id);
    });
  }
  std::vector<std::int64_t> mine;
  for (std::size_t i = static_cast<std::size_t>(options.rank); i < order.size();
       i += static_cast<std::size_t>(options.world_size)) {
    mine.push_back(order[i]);
  }
  const std::size_t batch = options.batch_size;
  std::vector<std::vector<std::int64_t>> batches;
  const std::size_t window =
      options.bucket_batches > 0 ? options.bucket_batches * batch : mine.size();
  SplitMix64 bucket_rng(stream_seed(options.seed, epoch, 1 + options.rank));
  for (std::size_t begin = 0; begin < mine.size(); begin += std::max<std::size_t>(window, 1)) {
    const std::size_t end = std::min(mine.size(), begin + window);
    if (options.bucket_batches > 0) {
      std::stable_sort(mine.begin() + static_cast<std::ptrdiff_t>(begin),
                       mine.begin() + static_cast<std::ptrdiff_t>(end),
                       [&](std::int64_t x, std::int64_t y) {
                         return data.length(static_cast<std::size_t>(x)) <
                                data.length(static_cast<std::size_t>(y));
                       });
    }
    std::vector<std::vector<std::int64_t>> window_batches;
    for (std::size_t b = begin; b < end; b += batch) {
      window_batches.emplace_back(
          mine.begin() + static_cast<std::ptrdiff_t>(b),
          mine.begin() + static_cast<std::ptrdiff_t>(std::min(end, b + batch)));
    }
    if (options.bucket_batches > 0 && options.shuffle) shuffle(window_batches, bucket_rng);
    for (auto& b : window_batches) batches.push_back(std::move(b));
  }
  batches.resize(static_cast<std::size_t>(steps));  // ranks short of a batch get an empty one
  return batches;
}

}  // namespace

BatchLoader::BatchLoader(std::shared_ptr<const SplitData> data, LoaderOptions options)
    : data_(std::move(data)), options_(options) {
  if (options_.batch_size == 0) throw std::invalid_argument("loader: batch size must be > 0");
  if (options_.world_size < 1 || options_.rank < 0 || options_.rank >= options_.world_size) {
    throw std::invalid_argument("loader: rank " + std::to_string(options_.rank) +
                                " is outside world size " + std::to_string(options_.world_size));
  }
  const auto n = static_cast<std::int64_t>(data_->size());
  const std::int64_t world = options_.world_size;
  if (n < world) {
    throw std::invalid_argument("loader: " + std::to_string(n) + " examples cannot feed " +
                                std::to_string(world) + " ranks");
  }
  const std::int64_t per_rank = (n + world - 1) / world;
  const auto batch = static_cast<std::int64_t>(options_.batch_size);
  steps_per_epoch_ = (per_rank + batch - 1) / batch;
  start_prefetch();
}

BatchLoader::~BatchLoader() {
  stop_prefetch();
}

std::int64_t BatchLoader::steps_in(std::int64_t epoch) const {
  if (epoch != excluded_epoch_) return steps_per_epoch_;
  return steps_for(static_cast<std::int64_t>(data_->size() - excluded_.size()), options_.world_size,
                   options_.batch_size);
}

std::vector<std::vector<std::int64_t>> BatchLoader::plan_epoch(std::int64_t epoch) const {
  static const std::vector<std::int64_t> kNone;
  return plan_batches(*data_, options_, epoch, epoch == excluded_epoch_ ? excluded_ : kNone,
                      steps_in(epoch));
}

void BatchLoader::build(std::int64_t epoch, std::int64_t step, Batch& batch) {
  if (planned_epoch_ != epoch) {
    plan_ = plan_epoch(epoch);
    planned_epoch_ = epoch;
  }
  const auto& ids = plan_[static_cast<std::size_t>(step)];
  batch.epoch = epoch;
  batch.step = step;
  batch.rows = ids.size();
  batch.example_ids = ids;
  batch.lengths.resize(ids.size());
  batch.labels.resize(ids.size());
  batch.max_len = 0;
  for (std::size_t r = 0; r < ids.size(); ++r) {
    const auto id = static_cast<std::size_t>(ids[r]);
    batch.lengths[r] = static_cast<std::int32_t>(data_->length(id));
    batch.labels[r] = data_->labels[id];
    batch.max_len = std::max(batch.max_len, static_cast<std::size_t>(batch.lengths[r]));
  }
  batch.tokens.assign(batch.rows * batch.max_len, 0);
  for (std::size_t r = 0; r < ids.size(); ++r) {
    const auto sequence = data_->sequence(static_cast<std::size_t>(ids[r]));
    std::copy(sequence.begin(), sequence.end(),
              batch.tokens.begin() + static_cast<std::ptrdiff_t>(r * batch.max_len));
  }
}

bool BatchLoader::next(Batch& batch) {
  if (step_ == steps_in(epoch_)) {
    ++epoch_;
    step_ = 0;
    return false;
  }
  if (options_.prefetch == 0) {
    build(epoch_, step_, batch);
  } else {
    std::unique_lock lock(mutex_);
    changed_.wait(lock, [&] { return !queue_.empty(); });
    batch = std::move(queue_.front());
    queue_.pop_front();
    changed_.notify_all();
  }
  ++step_;
  return true;
}

LoaderPosition BatchLoader::position() const {
  LoaderPosition p{options_.seed,
                   epoch_,
                   step_,
                   options_.rank,
                   options_.world_size,
                   static_cast<std::int64_t>(options_.batch_size),
                   static_cast<std::int64_t>(options_.bucket_batches),
                   {}};
  if (epoch_ == excluded_epoch_) p.excluded = excluded_;
  return p;
}

void BatchLoader::restore(const LoaderPosition& position) {
  if (position.seed != options_.seed) {
    throw std::invalid_argument("loader: saved position is for seed " +
                                std::to_string(position.seed) + ", this loader has seed " +
                                std::to_string(options_.seed));
  }
  const bool same_shape =
      position.world_size == options_.world_size &&
      (position.batch_size == 0 ||
       position.batch_size == static_cast<std::int64_t>(options_.batch_size)) &&
      position.bucket_batches == static_cast<std::int64_t>(options_.bucket_batches);
  if (same_shape && position.rank != options_.rank) {
    throw std::invalid_argument("loader: saved position is for rank " +
                                std::to_string(position.rank) + ", this loader is rank " +
                                std::to_string(options_.rank));
  }
  if (position.world_size < 1 || position.batch_size < 0 || position.epoch < 0 ||
      position.step < 0) {
    throw std::invalid_argument("loader: saved position is malformed");
  }
  std::vector<std::int64_t> excluded = position.excluded;
  std::sort(excluded.begin(), excluded.end());
  const std::int64_t old_steps =
      steps_for(static_cast<std::int64_t>(data_->size() - excluded.size()), position.world_size,
                static_cast<std::size_t>(position.batch_size > 0 ? position.batch_size : 1));
  if (position.step > old_steps) {
    throw std::invalid_argument("loader: saved position (epoch " + std::to_string(position.epoch) +
                                ", step " + std::to_string(position.step) + ") is out of range");
  }
  stop_prefetch();
  epoch_ = position.epoch;
  if (same_shape) {
    step_ = position.step;
  } else {
    // Replay every old rank's first `step` batches of this epoch: those examples are used.
    LoaderOptions old = options_;
    old.world_size = static_cast<int>(position.world_size);
    old.batch_size = static_cast<std::size_t>(position.batch_size);
    old.bucket_batches = static_cast<std::size_t>(position.bucket_batches);
    const std::vector<std::int64_t> before = excluded;  // the old plan's own exclusions
    for (int r = 0; r < old.world_size; ++r) {
      old.rank = r;
      const auto plan = plan_batches(*data_, old, position.epoch, before, old_steps);
      for (std::int64_t b = 0; b < position.step; ++b) {
        const auto& ids = plan[static_cast<std::size_t>(b)];
        excluded.insert(excluded.end(), ids.begin(), ids.end());
      }
    }
    std::sort(excluded.begin(), excluded.end());
    step_ = 0;
  }
  excluded_ = std::move(excluded);
  excluded_epoch_ = excluded_.empty() ? -1 : epoch_;
  planned_epoch_ = -1;
  start_prefetch();
}

void BatchLoader::start_prefetch() {
  if (options_.prefetch == 0) return;
  queue_.clear();
  stopping_ = false;
  produce_epoch_ = epoch_;
  produce_step_ = step_;
  worker_ = std::thread([this] { prefetch_loop(); });
}

void BatchLoader::stop_prefetch() {
  if (!worker_.joinable()) return;
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  changed_.notify_all();
  worker_.join();
  queue_.clear();
}

void BatchLoader::prefetch_loop() {
  while (true) {
    {
      std::unique_lock lock(mutex_);
      changed_.wait(lock, [&] { return stopping_ || queue_.size() < options_.prefetch; });
      if (stopping_) return;
    }
    if (produce_step_ == steps_in(produce_epoch_)) {
      ++produce_epoch_;
      produce_step_ = 0;
    }
    Batch batch;
    build(produce_epoch_, produce_step_, batch);
    ++produce_step_;
    {
      std::lock_guard lock(mutex_);
      queue_.push_back(std::move(batch));
    }
    changed_.notify_all();
  }
}

}  // namespace engine::io
