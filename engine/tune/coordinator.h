// The tune's brain: hands out trial configurations (searcher), judges each epoch's report
// (scheduler), keeps the budget, and holds every trial's record. It is a plain object with its
// whole state in JSON, so the MPI coordinator thread, a single process, and Slurm array tasks
// sharing a locked state file all drive the same logic.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "engine/tune/schedulers.h"
#include "engine/tune/search_space.h"
#include "engine/tune/searchers.h"
#include "engine/tune/trial.h"

namespace engine::tune {

struct TuneSettings {
  std::string searcher = "random";
  std::string scheduler = "none";
  std::string metric = "valid_accuracy";
  std::string mode = "max";
  int num_samples = 10;
  int max_concurrent = 0;    // 0: as many as there are groups
  double time_budget_s = 0;  // 0: none (no new trials start after it)
  int max_epochs = 1;        // each trial's --epochs
  std::uint64_t seed = 1;
  TpeOptions tpe;
  AshaOptions asha;
  PbtOptions pbt;

  nlohmann::json to_json() const;
  static TuneSettings from_json(const nlohmann::json& j);
};

// What a worker is told to do next.
struct Assignment {
  enum class What { start, wait, done } what = What::done;
  int trial = -1;
  nlohmann::json params;
  bool resume = false;  // continue the trial's run directory (it was interrupted)
};

class Coordinator {
 public:
  Coordinator(TuneSettings settings, SearchSpace space);

  // `owner` names the caller when several processes share the state (a Slurm array task): a
  // trial it was running when it was requeued is handed back to it to resume.
  Assignment next(double now_s, const std::string& owner = "");
  // A trial's epoch: its metric value; the scheduler's decision.
  Decision report(int trial, int epoch, double metric, double now_s);
  void finish(int trial, TrialStatus status, double now_s);

  const std::vector<Trial>& trials() const { return trials_; }
  const TuneSettings& settings() const { return settings_; }
  std::optional<int> best_trial() const;
  double score(double metric) const { return settings_.mode == "max" ? metric : -metric; }
  double metric(double score) const { return settings_.mode == "max" ? score : -score; }

  // The whole state. Restoring it to resume a stopped tune marks the trials that were running
  // as interrupted (they continue from their checkpoints); restoring it to share it between
  // processes (the state file of a Slurm array) keeps them running.
  enum class Restore { resume, share };
  nlohmann::json state() const;
  void restore(const nlohmann::json& state, Restore how = Restore::resume);

 private:
  std::vector<Observation> observations() const;

  TuneSettings settings_;
  SearchSpace space_;
  std::unique_ptr<Searcher> searcher_;
  std::unique_ptr<Scheduler> scheduler_;
  std::vector<Trial> trials_;
  int suggested_ = 0;  // searcher proposals so far (trial ids)
  bool exhausted_ = false;
};

}  // namespace engine::tune
