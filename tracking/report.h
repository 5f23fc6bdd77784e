// The human-facing report of a run or an evaluation: SVG plots under DIR/plots/ and one
// self-contained DIR/report.html that shows them (inline) with the metric tables.
//
//   plots/loss.svg                 train loss per step and per epoch, validation loss
//   plots/accuracy.svg             train and validation accuracy, validation macro-F1
//   plots/learning_rate.svg        the learning rate per step
//   plots/confusion_counts.svg     confusion matrix of the evaluation, counts
//   plots/confusion_normalized.svg the same, each row divided by its true-class total (recall)
//   plots/per_class.svg            precision / recall / F1 per class
// Curves plots need curves or steps; the last three need an evaluation report.
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace engine::tracking {

struct ReportInputs {
  std::string title;
  nlohmann::json config;               // the resolved configuration, or null
  std::vector<nlohmann::json> curves;  // curves.jsonl records (one per validation)
  std::vector<nlohmann::json> steps;   // steps.jsonl records (one per optimizer step)
  nlohmann::json evaluation;           // ConfusionMatrix::report(...) plus loss/split, or null
};

// Writes the plots and report.html (each atomically); returns the paths written.
std::vector<std::string> write_report(const std::string& dir, const ReportInputs& inputs);

// The report of a training run directory, from its config.yaml, curves.jsonl, steps.jsonl and
// test_report.json (whichever exist).
std::vector<std::string> write_run_report(const std::string& run_dir);

// The records of a JSON-lines file (none when it does not exist).
std::vector<nlohmann::json> read_jsonl(const std::string& path);

}  // namespace engine::tracking
