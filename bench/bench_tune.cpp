// The tune coordinator on synthetic objectives: best value found per seed and the coordinator's
// own time per trial (proposal, report, finish, and saving its state to a file, as engine_tune
// does after every change). One JSON line per (objective, seed). Driven by bench/tune_bench.py.
#include <CLI/CLI.hpp>
#include <chrono>
#include <cstdio>
#include <filesystem>

#include "bench/tune_objectives.h"
#include "engine/tune/coordinator.h"
#include "io/atomic_file.h"

int main(int argc, char** argv) {
  CLI::App app{"engine_tune's searchers on synthetic objectives"};
  std::string searcher = "tpe", objective_name = "branin";
  int budget = 50, seeds = 10;
  app.add_option("--searcher", searcher, "grid, random or tpe")->capture_default_str();
  app.add_option("--objective", objective_name, "branin, mixed or rosenbrock")
      ->capture_default_str();
  app.add_option("--budget", budget, "Trials per run")->capture_default_str();
  app.add_option("--seeds", seeds, "Runs (seeds 1..N)")->capture_default_str();
  CLI11_PARSE(app, argc, argv);
  const engine::bench::Objective* objective = nullptr;
  for (const auto& o : engine::bench::kObjectives)
    if (objective_name == o.name) objective = &o;
  if (objective == nullptr) {
    std::fprintf(stderr, "unknown objective %s\n", objective_name.c_str());
    return 2;
  }
  const auto space =
      engine::tune::SearchSpace::from_yaml_text(objective->space_yaml, objective->name);
  const std::string state =
      (std::filesystem::temp_directory_path() / "bench_tune_state.json").string();
  using Clock = std::chrono::steady_clock;
  for (int seed = 1; seed <= seeds; ++seed) {
    engine::tune::TuneSettings settings;
    settings.searcher = searcher;
    settings.mode = "min";
    settings.num_samples = budget;
    settings.seed = static_cast<std::uint64_t>(seed);
    engine::tune::Coordinator c(settings, space);
    double best = INFINITY, overhead = 0;
    for (int i = 0; i < budget; ++i) {
      auto begin = Clock::now();
      const auto a = c.next(0);
      engine::io::write_file_atomically(state, c.state().dump(1));
      overhead += std::chrono::duration<double>(Clock::now() - begin).count();
      const double loss = objective->loss(a.params);  // the "training", not counted
      best = std::min(best, loss);
      begin = Clock::now();
      c.report(a.trial, 1, loss, 0);
      engine::io::write_file_atomically(state, c.state().dump(1));
      c.finish(a.trial, engine::tune::TrialStatus::finished, 0);
      engine::io::write_file_atomically(state, c.state().dump(1));
      overhead += std::chrono::duration<double>(Clock::now() - begin).count();
    }
    std::printf(
        "{\"objective\":\"%s\",\"searcher\":\"%s\",\"seed\":%d,\"budget\":%d,\"best\":%.10g,"
        "\"overhead_ms_per_trial\":%.4f}\n",
        objective->name, searcher.c_str(), seed, budget, best, 1000 * overhead / budget);
  }
  std::filesystem::remove(state);
  return 0;
}
