// engine_train: trains a recurrent text classifier on a dataset made by engine_prep.
// Every option is a flag and a key of the optional --config YAML file (flags win).
#include <CLI/CLI.hpp>
#include <atomic>
#include <csignal>
#include <cstdio>
#include <exception>
#include <memory>

#include "comm/communicator.h"
#include "engine/train_config.h"
#include "engine/trainer.h"
#include "io/run_log.h"

namespace {

// Set by SIGTERM / SIGUSR1 (Slurm's pre-emption warning): the trainer checkpoints at the next
// step boundary and exits with kInterruptedExit, so a batch script can requeue and resume.
std::atomic<bool> stop_signal{false};
constexpr int kInterruptedExit = 75;  // EX_TEMPFAIL

extern "C" void request_stop(int) {
  stop_signal.store(true);
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{
      "Train an LSTM/GRU/RNN text classifier on HDF5 shards made by engine_prep.\n"
      "Writes checkpoints, learning curves and a test report under --out."};
  app.get_formatter()->column_width(36);
  engine::TrainConfig config;
  engine::add_train_options(app, config);
  // MPI under mpirun, else one process; gradient buckets are reduced on a second thread.
  const auto world = engine::comm::make_default(&argc, &argv, /*threads_communicate=*/true);
  int exit_code = 0;
  if (!engine::parse_train_args(app, config, argc, argv, exit_code)) return exit_code;

  // Rank 0 reports progress on the terminal and in OUT/log.jsonl; every rank reports its
  // warnings and errors, tagged; with --log-all-ranks every rank also keeps its whole log in
  // OUT/logs/rank-N.log.
  const int rank = world->rank();
  std::unique_ptr<engine::io::RunLog> log;
  try {
    log = std::make_unique<engine::io::RunLog>(engine::io::RunLogOptions{
        .level = config.log_level,
        .quiet = config.quiet,
        .terminal = world->is_root(),
        .rank = rank,
        .world_size = world->size(),
        .json_path = world->is_root() ? config.out + "/log.jsonl" : "",
        .text_path = config.log_all_ranks
                         ? config.out + "/logs/rank-" + std::to_string(rank) + ".log"
                         : ""});
  } catch (const std::exception& e) {
    std::fprintf(stderr, "engine_train: [rank %d] error: %s\n", rank, e.what());
    if (world->size() > 1) world->abort(1);
    return 1;
  }
  std::signal(SIGTERM, request_stop);
  std::signal(SIGUSR1, request_stop);
  try {
    const auto outcome = engine::train(
        config, [&](const std::string& line) { log->info(line); },
        [&](const std::string& line) { log->warn(line); },
        [](std::int64_t) { return stop_signal.load(); }, world.get());
    if (outcome.interrupted) return kInterruptedExit;
    log->info("[train] done: " + std::to_string(outcome.steps) + " steps, " +
              std::to_string(outcome.epochs_completed) + " epochs" +
              (outcome.stopped_early ? " (stopped early)" : "") + "; run in " + config.out);
    // Rank 0's view; machine-readable for bench/scaling_bench.py.
    char throughput[160];
    std::snprintf(throughput, sizeof throughput,
                  "[train] throughput samples_per_s=%.1f train_s=%.3f comm_s=%.3f",
                  outcome.samples_per_second, outcome.train_seconds, outcome.communication_seconds);
    log->info(throughput);
  } catch (const std::exception& e) {
    log->error(std::string("[train] engine_train: ") + e.what());
    if (world->size() > 1) world->abort(1);  // no rank may be left waiting in a collective
    return 1;
  }
  return 0;
}
