#include "engine/metrics.h"

#include <cstdio>

namespace engine {

std::int64_t ConfusionMatrix::total() const {
  std::int64_t n = 0;
  for (const auto c : counts_) n += c;
  return n;
}

double ConfusionMatrix::accuracy() const {
  std::int64_t right = 0;
  for (int k = 0; k < classes_; ++k) right += at(k, k);
  const std::int64_t n = total();
  return n == 0 ? 0.0 : static_cast<double>(right) / static_cast<double>(n);
}

ConfusionMatrix::ClassStats ConfusionMatrix::stats(int k) const {
  std::int64_t predicted = 0, support = 0;
  for (int j = 0; j < classes_; ++j) {
    predicted += at(j, k);
    support += at(k, j);
  }
  const auto tp = static_cast<double>(at(k, k));
  const double precision = predicted == 0 ? 0.0 : tp / static_cast<double>(predicted);
  const double recall = support == 0 ? 0.0 : tp / static_cast<double>(support);
  const double f1 = precision + recall == 0 ? 0.0 : 2 * precision * recall / (precision + recall);
  return {precision, recall, f1, support};
}

double ConfusionMatrix::macro_f1() const {
  double sum = 0;
  for (int k = 0; k < classes_; ++k) sum += stats(k).f1;
  return classes_ == 0 ? 0.0 : sum / classes_;
}

nlohmann::json ConfusionMatrix::report(const std::vector<std::string>& class_names) const {
  nlohmann::json per_class = nlohmann::json::array();
  double macro[3] = {0, 0, 0}, weighted[3] = {0, 0, 0};
  const auto n = static_cast<double>(total());
  for (int k = 0; k < classes_; ++k) {
    const ClassStats s = stats(k);
    per_class.push_back({{"class", class_names.at(static_cast<std::size_t>(k))},
                         {"precision", s.precision},
                         {"recall", s.recall},
                         {"f1", s.f1},
                         {"support", s.support}});
    const double values[3] = {s.precision, s.recall, s.f1};
    for (int m = 0; m < 3; ++m) {
      macro[m] += values[m] / classes_;
      weighted[m] += n == 0 ? 0.0 : values[m] * static_cast<double>(s.support) / n;
    }
  }
  std::vector<std::vector<std::int64_t>> matrix(static_cast<std::size_t>(classes_));
  for (int k = 0; k < classes_; ++k) {
    for (int j = 0; j < classes_; ++j) matrix[static_cast<std::size_t>(k)].push_back(at(k, j));
  }
  return {
      {"accuracy", accuracy()},
      {"examples", total()},
      {"per_class", per_class},
      {"macro_avg", {{"precision", macro[0]}, {"recall", macro[1]}, {"f1", macro[2]}}},
      {"weighted_avg", {{"precision", weighted[0]}, {"recall", weighted[1]}, {"f1", weighted[2]}}},
      {"confusion_matrix",
       {{"rows", "true class"}, {"columns", "predicted class"}, {"counts", matrix}}},
      {"class_names", class_names}};
}

std::string ConfusionMatrix::table(const std::vector<std::string>& class_names) const {
  std::string out;
  char line[256];
  std::snprintf(line, sizeof line, "%-20s %9s %9s %9s %9s\n", "class", "precision", "recall", "f1",
                "support");
  out += line;
  for (int k = 0; k < classes_; ++k) {
    const ClassStats s = stats(k);
    std::snprintf(line, sizeof line, "%-20.20s %9.4f %9.4f %9.4f %9lld\n",
                  class_names.at(static_cast<std::size_t>(k)).c_str(), s.precision, s.recall, s.f1,
                  static_cast<long long>(s.support));
    out += line;
  }
  const auto r = report(class_names);
  for (const char* avg : {"macro_avg", "weighted_avg"}) {
    std::snprintf(line, sizeof line, "%-20s %9.4f %9.4f %9.4f %9lld\n", avg,
                  r[avg]["precision"].get<double>(), r[avg]["recall"].get<double>(),
                  r[avg]["f1"].get<double>(), static_cast<long long>(total()));
    out += line;
  }
  std::snprintf(line, sizeof line, "accuracy %.4f on %lld examples\n", accuracy(),
                static_cast<long long>(total()));
  out += line;
  if (classes_ <= 12) {  // the matrix itself, when it fits a terminal
    out += "confusion (rows: true, columns: predicted)\n";
    for (int k = 0; k < classes_; ++k) {
      std::snprintf(line, sizeof line, "%-12.12s",
                    class_names.at(static_cast<std::size_t>(k)).c_str());
      out += line;
      for (int j = 0; j < classes_; ++j) {
        std::snprintf(line, sizeof line, " %7lld", static_cast<long long>(at(k, j)));
        out += line;
      }
      out += "\n";
    }
  }
  return out;
}

}  // namespace engine
