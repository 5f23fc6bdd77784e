// Serves training batches from one split of a prepared dataset (C++ API used by training).
//
// Epoch plan, a pure function of (seed, epoch, rank, world size), so runs are reproducible and a
// saved position restores exactly:
//   1. the split's examples are permuted with a seeded shuffle (the same on every rank);
//   2. rank r of N takes positions r, r+N, r+2N, ... of that permutation, so across the N ranks
//      every example is used exactly once per epoch;
//   3. optional length bucketing: within windows of `bucket_batches` batches, examples are sorted
//      by length before being cut into batches and the batches' order is shuffled, which cuts
//      padding without changing which examples a rank sees;
//   4. every rank takes the same number of steps per epoch, ceil(ceil(n/N)/B); a rank that runs
//      out of examples first receives an empty batch (0 rows) for its last step, so collective
//      operations stay matched. Training weights gradients by the global sample count.
// A background thread prepares `prefetch` batches ahead; results do not depend on it.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "io/dataset.h"

namespace engine::io {

struct LoaderOptions {
  std::size_t batch_size = 32;
  std::uint64_t seed = 0;
  bool shuffle = true;
  int rank = 0;
  int world_size = 1;
  std::size_t bucket_batches = 0;  // 0 = no length bucketing
  std::size_t prefetch = 2;        // 0 = build batches on the caller's thread
};

struct Batch {
  std::int64_t epoch = 0;
  std::int64_t step = 0;
  std::size_t rows = 0;
  std::size_t max_len = 0;
  std::vector<std::int32_t> tokens;  // rows x max_len, row-major, padded with <pad> = 0
  std::vector<std::int32_t> lengths;
  std::vector<std::int32_t> labels;
  std::vector<std::int64_t> example_ids;  // indices into the split
};

// Where a loader is: enough to continue exactly (the shuffle is recomputed from the seed).
struct LoaderPosition {
  std::uint64_t seed = 0;
  std::int64_t epoch = 0;
  std::int64_t step = 0;  // batches already served in this epoch (by each rank)
  std::int64_t rank = 0;
  std::int64_t world_size = 1;
  std::int64_t batch_size = 0;  // the plan's shape, to replay it on another rank count
  std::int64_t bucket_batches = 0;
  std::vector<std::int64_t> excluded = {};  // examples of this epoch used before the plan began
};

class BatchLoader {
 public:
  BatchLoader(std::shared_ptr<const SplitData> data, LoaderOptions options);
  ~BatchLoader();
  BatchLoader(const BatchLoader&) = delete;
  BatchLoader& operator=(const BatchLoader&) = delete;

  // The next batch of the current epoch; false (and the epoch advances) once it is used up.
  bool next(Batch& batch);

  std::int64_t steps_per_epoch() const { return steps_per_epoch_; }
  LoaderPosition position() const;
  // Continues from a saved position (the seed must match). With the same world size, batch size
  // and bucketing it continues exactly. With others (resuming 2 ranks' run on 3, say) the
  // examples every old rank had used in the current epoch are worked out by replaying the old
  // plan, and the rest of the epoch is shared among the new ranks: within the epoch no example
  // is skipped or repeated; the following epochs are planned for the new shape.
  void restore(const LoaderPosition& position);

 private:
  // The rank's batches for one epoch, as lists of example ids.
  std::vector<std::vector<std::int64_t>> plan_epoch(std::int64_t epoch) const;
  std::int64_t steps_in(std::int64_t epoch) const;
  void build(std::int64_t epoch, std::int64_t step, Batch& batch);
  void start_prefetch();
  void stop_prefetch();
  void prefetch_loop();

  std::shared_ptr<const SplitData> data_;
  LoaderOptions options_;
  std::int64_t steps_per_epoch_ = 0;
  std::int64_t epoch_ = 0;
  std::int64_t step_ = 0;
  // After a restore onto another shape: the epoch whose remaining examples are re-planned, and
  // the examples (sorted) already used in it.
  std::int64_t excluded_epoch_ = -1;
  std::vector<std::int64_t> excluded_;

  // Plan cache for the thread that builds batches.
  std::int64_t planned_epoch_ = -1;
  std::vector<std::vector<std::int64_t>> plan_;

  // Prefetch state: the producer builds (epoch, step) in order into queue_.
  std::thread worker_;
  std::mutex mutex_;
  std::condition_variable changed_;
  std::deque<Batch> queue_;
  bool stopping_ = false;
  std::int64_t produce_epoch_ = 0;
  std::int64_t produce_step_ = 0;
};

}  // namespace engine::io
