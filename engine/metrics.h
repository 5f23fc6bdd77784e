// Classification metrics from a confusion matrix: accuracy, per-class precision / recall / F1 /
// support, macro and weighted averages. Counts add up, so ranks can sum their matrices.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace engine {

class ConfusionMatrix {
 public:
  explicit ConfusionMatrix(int classes)
      : classes_(classes), counts_(static_cast<std::size_t>(classes * classes), 0) {}
  void add(int label, int predicted) {
    ++counts_[static_cast<std::size_t>(label * classes_ + predicted)];
  }
  std::int64_t at(int label, int predicted) const {
    return counts_[static_cast<std::size_t>(label * classes_ + predicted)];
  }
  std::vector<std::int64_t>& counts() { return counts_; }
  int classes() const { return classes_; }
  std::int64_t total() const;

  double accuracy() const;
  double macro_f1() const;
  // The full report: accuracy, per-class and averaged metrics, the matrix.
  nlohmann::json report(const std::vector<std::string>& class_names) const;
  // Human-readable tables of the same.
  std::string table(const std::vector<std::string>& class_names) const;

 private:
  struct ClassStats {
    double precision, recall, f1;
    std::int64_t support;
  };
  ClassStats stats(int k) const;

  int classes_;
  std::vector<std::int64_t> counts_;
};

}  // namespace engine
