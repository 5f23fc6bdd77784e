// --timeline FILE: a Chrome trace (the JSON Perfetto and chrome://tracing open) of where each
// rank's time goes: per step the data wait, forward, backward, gradient allreduce and optimizer,
// plus validations and checkpoints. Each rank records complete ("X") events in memory with
// wall-clock microseconds (so ranks on different hosts line up as well as their clocks do);
// rank 0 gathers them and writes one file with a process per rank.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

namespace engine::tracking {

class Timeline {
 public:
  using Clock = std::chrono::system_clock;
  static constexpr std::size_t kMaxEvents = 2'000'000;  // ~200 MB of JSON; later events are dropped

  Timeline(int rank, std::string process_label);

  // One phase [begin, end) of optimizer step `step` (0 for phases outside steps).
  // `thread` 0 is the training thread, 1 the communication thread.
  void record(const char* name, const char* category, Clock::time_point begin,
              Clock::time_point end, std::int64_t step, int thread = 0);

  // This rank's events as a JSON array body (comma-separated objects), for gathering; events
  // dropped past kMaxEvents are counted in a final instant event the viewer shows.
  std::string events_json() const;
  // Writes a trace file (atomically) from every rank's events_json().
  static void write(const std::string& path, const std::vector<std::string>& rank_events);

 private:
  int rank_;
  std::string label_;
  std::string events_;  // already formatted: cheap to record, nothing to convert at the end
  std::size_t count_ = 0, dropped_ = 0;
};

}  // namespace engine::tracking
