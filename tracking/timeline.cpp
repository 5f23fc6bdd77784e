#include "tracking/timeline.h"

#include <algorithm>
#include <cstdio>
#include <nlohmann/json.hpp>

#include "io/atomic_file.h"

namespace engine::tracking {

namespace {

long long microseconds(Timeline::Clock::time_point t) {
  return std::chrono::duration_cast<std::chrono::microseconds>(t.time_since_epoch()).count();
}

}  // namespace

Timeline::Timeline(int rank, std::string process_label)
    : rank_(rank), label_(std::move(process_label)) {
  // Metadata events name the process (rank) and its thread in the viewer.
  events_ = nlohmann::json({{"name", "process_name"},
                            {"ph", "M"},
                            {"pid", rank_},
                            {"tid", 0},
                            {"args", {{"name", label_}}}})
                .dump() +
            ",\n" +
            nlohmann::json({{"name", "process_sort_index"},
                            {"ph", "M"},
                            {"pid", rank_},
                            {"tid", 0},
                            {"args", {{"sort_index", rank_}}}})
                .dump();
}

void Timeline::record(const char* name, const char* category, Clock::time_point begin,
                      Clock::time_point end, std::int64_t step, int thread) {
  if (count_ >= kMaxEvents) {
    ++dropped_;
    return;
  }
  ++count_;
  const long long start = microseconds(begin);
  char event[256];
  std::snprintf(event, sizeof event,
                ",\n{\"name\":\"%s\",\"cat\":\"%s\",\"ph\":\"X\",\"ts\":%lld,\"dur\":%lld,"
                "\"pid\":%d,\"tid\":%d,\"args\":{\"step\":%lld}}",
                name, category, start, std::max(microseconds(end) - start, 0LL), rank_, thread,
                static_cast<long long>(step));
  events_ += event;
}

std::string Timeline::events_json() const {
  if (dropped_ == 0) return events_;
  return events_ + ",\n" +
         nlohmann::json({{"name", std::to_string(dropped_) + " later events dropped (limit)"},
                         {"ph", "i"},
                         {"s", "p"},
                         {"ts", microseconds(Clock::now())},
                         {"pid", rank_},
                         {"tid", 0}})
             .dump();
}

void Timeline::write(const std::string& path, const std::vector<std::string>& rank_events) {
  std::string trace = "{\"displayTimeUnit\":\"ms\",\"traceEvents\":[\n";
  for (std::size_t r = 0; r < rank_events.size(); ++r) {
    if (r > 0) trace += ",\n";
    trace += rank_events[r];
  }
  trace += "\n]}\n";
  io::write_file_atomically(path, trace);
}

}  // namespace engine::tracking
