// Gradient allreduce overlapped with backward: the backward pass says, as it goes down the
// model, from which offset on the gradient arena is final (the classifier first, then each
// recurrent layer, the embedding last); ranges of at least `min_bucket` floats are summed across
// ranks on a communication thread while backward computes the rest. Every rank makes the same
// calls in the same order, so the buckets match. Needs a communicator of its own (collectives on
// it run on the other thread) and an MPI that lets threads communicate.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <deque>
#include <exception>
#include <memory>
#include <mutex>
#include <span>
#include <thread>
#include <vector>

#include "comm/communicator.h"

namespace engine::comm {

class BucketedAllreduce {
 public:
  using Clock = std::chrono::system_clock;
  struct Bucket {
    std::size_t offset, size;  // floats
    Clock::time_point begin, end;
  };

  BucketedAllreduce(std::unique_ptr<Communicator> channel, std::size_t min_bucket);
  ~BucketedAllreduce();
  BucketedAllreduce(const BucketedAllreduce&) = delete;
  BucketedAllreduce& operator=(const BucketedAllreduce&) = delete;

  // A step whose gradients live in `grads`; nothing is final yet.
  void start(std::span<float> grads);
  // grads[offset, end of the arena) will not change any more in this step.
  void ready_from(std::size_t offset);
  // Sends what is left, waits until every bucket is summed; returns the step's buckets.
  std::vector<Bucket> finish();

 private:
  void post(std::size_t offset, std::size_t size);
  void run();

  std::unique_ptr<Communicator> channel_;
  std::size_t min_bucket_;
  std::span<float> grads_;
  std::size_t unsent_end_ = 0;  // [0, unsent_end_) has not been posted this step

  std::mutex mutex_;
  std::condition_variable changed_;
  std::deque<Bucket> queue_;
  std::vector<Bucket> done_;
  std::size_t pending_ = 0;
  bool stopping_ = false;
  std::exception_ptr error_;
  std::thread worker_;
};

}  // namespace engine::comm
