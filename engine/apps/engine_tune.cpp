// engine_tune: hyperparameter search over engine_train options (engine/tune/tune_runner.h).
//   mpirun -np N engine_tune --data DIR --out TUNE --space space.yaml --searcher tpe
//          --scheduler asha --num-samples 20 --metric valid_accuracy --mode max
//          [--ranks-per-trial G] [--max-concurrent N] [any engine_train flag, fixed for all trials]
#include <CLI/CLI.hpp>
#include <cstdio>
#include <memory>

#include "comm/communicator.h"
#include "engine/train_config.h"
#include "engine/tune/tune_runner.h"
#include "io/run_log.h"

int main(int argc, char** argv) {
  CLI::App app{
      "Search engine_train's hyperparameters: grid, random or TPE proposals, ASHA or PBT\n"
      "scheduling, trials on groups of MPI ranks. Writes results, best.yaml and plots under "
      "--out;\n"
      "run the same command again to resume an interrupted tune."};
  app.get_formatter()->column_width(40);
  engine::tune::TuneOptions options;
  engine::TrainConfig& base = options.base;
  engine::add_train_options(app, base);
  engine::tune::TuneSettings& s = options.settings;
  const char* tune = "Tune";
  app.add_option("--space", options.space_path, "YAML search space (engine/tune/search_space.h)")
      ->required()
      ->check(CLI::ExistingFile)
      ->group(tune);
  app.add_option("--searcher", s.searcher, "grid, random or tpe")
      ->capture_default_str()
      ->check(CLI::IsMember({"grid", "random", "tpe"}))
      ->group(tune);
  app.add_option("--scheduler", s.scheduler, "none, asha or pbt")
      ->capture_default_str()
      ->check(CLI::IsMember({"none", "asha", "pbt"}))
      ->group(tune);
  app.add_option("--num-samples", s.num_samples, "Trials to run (grid: at most the grid's size)")
      ->capture_default_str()
      ->group(tune);
  app.add_option("--metric", s.metric,
                 "valid_accuracy, valid_macro_f1, valid_loss, train_loss or train_accuracy")
      ->capture_default_str()
      ->group(tune);
  app.add_option("--mode", s.mode, "max or min")
      ->capture_default_str()
      ->check(CLI::IsMember({"max", "min"}))
      ->group(tune);
  app.add_option("--ranks-per-trial", options.ranks_per_trial, "MPI ranks training each trial")
      ->capture_default_str()
      ->group(tune);
  app.add_option("--max-concurrent", s.max_concurrent, "Trials at once (0: one per group)")
      ->capture_default_str()
      ->group(tune);
  app.add_option("--time-budget", s.time_budget_s, "Seconds after which no trial starts (0: none)")
      ->capture_default_str()
      ->group(tune);
  app.add_flag("--array-task", options.array_task,
               "Run one trial as one task of a Slurm job array; the tasks share --out's state "
               "through a file lock (cluster/slurm/tune_array.sbatch)")
      ->group(tune);
  app.add_option("--tpe-startup", s.tpe.startup_trials, "TPE: random trials before the model")
      ->capture_default_str()
      ->group(tune);
  app.add_option("--grace-period", s.asha.grace_period, "ASHA: epochs before the first rung")
      ->capture_default_str()
      ->group(tune);
  app.add_option("--reduction-factor", s.asha.reduction_factor, "ASHA: eta, 1/eta go on")
      ->capture_default_str()
      ->group(tune);
  app.add_option("--brackets", s.asha.brackets, "ASHA: Hyperband brackets")
      ->capture_default_str()
      ->group(tune);
  app.add_option("--perturbation-interval", s.pbt.interval, "PBT: epochs between exploits")
      ->capture_default_str()
      ->group(tune);
  app.add_option("--quantile-fraction", s.pbt.quantile, "PBT: bottom/top fraction")
      ->capture_default_str()
      ->group(tune);
  app.add_option("--resample-probability", s.pbt.resample_probability,
                 "PBT: chance to redraw a value instead of perturbing it")
      ->capture_default_str()
      ->group(tune);

  // The coordinator thread talks MPI while rank 0's trial trains.
  const auto world = engine::comm::make_default(&argc, &argv, /*threads_communicate=*/true);
  int exit_code = 0;
  if (!engine::parse_train_args(app, base, argc, argv, exit_code)) return exit_code;
  options.out = base.out;
  s.seed = base.seed;
  std::unique_ptr<engine::io::RunLog> log;
  try {
    log = std::make_unique<engine::io::RunLog>(
        engine::io::RunLogOptions{.level = base.log_level,
                                  .quiet = base.quiet,
                                  .terminal = world->is_root(),
                                  .rank = world->rank(),
                                  .world_size = world->size(),
                                  .json_path = world->is_root() ? options.out + "/log.jsonl" : "",
                                  .text_path = ""});
    const auto summary = engine::tune::run_tune(
        options, *world, [&](const std::string& line) { log->info(line); },
        [&](const std::string& line) { log->warn(line); });
    if (world->is_root() && options.array_task) {
      log->info("[tune] this array task's trial is done; the tune so far: " + options.out +
                "/results.csv");
    } else if (world->is_root()) {
      if (summary.best_trial < 0) {
        log->warn("[tune] no trial reported a metric");
      } else {
        log->info("[tune] done: " + std::to_string(summary.trials) + " trial(s); best trial " +
                  std::to_string(summary.best_trial) + " with " + s.metric + " " +
                  std::to_string(summary.best_metric) + "; its configuration: " + options.out +
                  "/best.yaml");
      }
    }
  } catch (const std::exception& e) {
    if (log) {
      log->error(std::string("[tune] engine_tune: ") + e.what());
    } else {
      std::fprintf(stderr, "engine_tune: error: %s\n", e.what());
    }
    if (world->size() > 1) world->abort(1);
    return 1;
  }
  return 0;
}
