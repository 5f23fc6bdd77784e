// engine_train: trains a recurrent text classifier on a dataset made by engine_prep.
// Every option is a flag and a key of the optional --config YAML file (flags win).
#include <spdlog/sinks/basic_file_sink.h>
#include <spdlog/spdlog.h>

#include <CLI/CLI.hpp>
#include <atomic>
#include <csignal>
#include <cstdio>
#include <exception>
#include <filesystem>

#include "comm/communicator.h"
#include "engine/train_config.h"
#include "engine/trainer.h"

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
  const auto world =
      engine::comm::make_default(&argc, &argv);  // MPI under mpirun, else one process
  int exit_code = 0;
  if (!engine::parse_train_args(app, config, argc, argv, exit_code)) return exit_code;

  // Rank 0 reports progress; every rank reports its warnings and errors, tagged; with
  // --log-all-ranks every rank also keeps its whole log in OUT/logs/rank-N.log.
  const std::string tag = world->size() > 1 ? "[rank " + std::to_string(world->rank()) + "] " : "";
  spdlog::set_pattern("%v");
  if (config.quiet || !world->is_root()) spdlog::set_level(spdlog::level::warn);
  std::shared_ptr<spdlog::logger> rank_log;
  if (config.log_all_ranks) {
    const std::string path = config.out + "/logs/rank-" + std::to_string(world->rank()) + ".log";
    try {
      std::filesystem::create_directories(config.out + "/logs");
      rank_log = spdlog::basic_logger_mt("rank", path);
      rank_log->set_pattern("%Y-%m-%dT%H:%M:%S.%e %l %v");
      rank_log->set_level(spdlog::level::info);
      rank_log->flush_on(spdlog::level::info);
    } catch (const std::exception& e) {
      std::fprintf(stderr, "engine_train: %serror: cannot open %s: %s\n", tag.c_str(), path.c_str(),
                   e.what());
      if (world->size() > 1) world->abort(1);
      return 1;
    }
  }
  const auto to_rank_log = [&](spdlog::level::level_enum level, const std::string& line) {
    if (rank_log) rank_log->log(level, "{}", line);
  };
  std::signal(SIGTERM, request_stop);
  std::signal(SIGUSR1, request_stop);
  try {
    const auto outcome = engine::train(
        config,
        [&](const std::string& line) {
          spdlog::info("{}", line);
          to_rank_log(spdlog::level::info, line);
        },
        [&](const std::string& line) {
          spdlog::warn("{}warning: {}", tag, line);
          to_rank_log(spdlog::level::warn, line);
        },
        [](std::int64_t) { return stop_signal.load(); }, world.get());
    if (outcome.interrupted) return kInterruptedExit;
    spdlog::info("[train] done: {} steps, {} epochs{}; run in {}", outcome.steps,
                 outcome.epochs_completed, outcome.stopped_early ? " (stopped early)" : "",
                 config.out);
    // Rank 0's view; machine-readable for bench/scaling_bench.py.
    spdlog::info("[train] throughput samples_per_s={:.1f} train_s={:.3f} comm_s={:.3f}",
                 outcome.samples_per_second, outcome.train_seconds, outcome.communication_seconds);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "engine_train: %serror: %s\n", tag.c_str(), e.what());
    to_rank_log(spdlog::level::err, e.what());
    if (world->size() > 1) world->abort(1);  // no rank may be left waiting in a collective
    return 1;
  }
  return 0;
}
