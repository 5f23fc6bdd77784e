#include "comm/bucketed_allreduce.h"

#include <stdexcept>

namespace engine::comm {

BucketedAllreduce::BucketedAllreduce(std::unique_ptr<Communicator> channel, std::size_t min_bucket)
    : channel_(std::move(channel)), min_bucket_(min_bucket), worker_([this] { run(); }) {}

BucketedAllreduce::~BucketedAllreduce() {
  {
    const std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  changed_.notify_all();
  worker_.join();
}

void BucketedAllreduce::start(std::span<float> grads) {
  grads_ = grads;
  unsent_end_ = grads.size();
  const std::lock_guard lock(mutex_);
  done_.clear();
}

void BucketedAllreduce::ready_from(std::size_t offset) {
  if (offset < unsent_end_ && unsent_end_ - offset >= min_bucket_) {
    post(offset, unsent_end_ - offset);
    unsent_end_ = offset;
  }
}

void BucketedAllreduce::post(std::size_t offset, std::size_t size) {
  {
    const std::lock_guard lock(mutex_);
    queue_.push_back({offset, size, {}, {}});
    ++pending_;
  }
  changed_.notify_all();
}

std::vector<BucketedAllreduce::Bucket> BucketedAllreduce::finish() {
  if (unsent_end_ > 0) post(0, unsent_end_);
  unsent_end_ = 0;
  std::unique_lock lock(mutex_);
  changed_.wait(lock, [this] { return pending_ == 0 || error_; });
  if (error_) std::rethrow_exception(error_);
  return done_;
}

void BucketedAllreduce::run() {
  std::unique_lock lock(mutex_);
  for (;;) {
    changed_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
    if (queue_.empty()) return;  // stopping
    Bucket bucket = queue_.front();
    queue_.pop_front();
    lock.unlock();
    bucket.begin = Clock::now();
    try {
      channel_->allreduce_sum(grads_.subspan(bucket.offset, bucket.size));
    } catch (...) {
      lock.lock();
      error_ = std::current_exception();
      changed_.notify_all();
      continue;
    }
    bucket.end = Clock::now();
    lock.lock();
    done_.push_back(bucket);
    --pending_;
    changed_.notify_all();
  }
}

}  // namespace engine::comm
