// Current values of a run's live metrics, rendered in Prometheus' text exposition format
// (version 0.0.4). Written by the training thread, read by the HTTP server's thread.
#pragma once

#include <map>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

namespace engine::tracking {

using Labels = std::vector<std::pair<std::string, std::string>>;

class MetricsRegistry {
 public:
  enum class Type { gauge, counter };

  // Declares a metric family; set/add of an undeclared name throws std::logic_error.
  void describe(const std::string& name, Type type, const std::string& help);
  void set(const std::string& name, double value, const Labels& labels = {});
  void add(const std::string& name, double delta, const Labels& labels = {});

  // Every family with its HELP and TYPE lines and its samples (none yet, for instance before
  // the first validation), in declaration order.
  std::string render() const;

 private:
  struct Family {
    Type type;
    std::string help;
    std::map<std::string, double> samples;  // rendered label set -> value
  };
  Family& family(const std::string& name);

  mutable std::mutex mutex_;
  std::vector<std::string> order_;
  std::map<std::string, Family> families_;
};

}  // namespace engine::tracking
