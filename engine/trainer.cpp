#include "engine/trainer.h"

#include <unistd.h>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <limits>

#include "engine/checkpoint.h"
#include "engine/evaluate.h"
#include "engine/model.h"
#include "engine/model_runner.h"
#include "engine/optimizer.h"
#include "engine/step_telemetry.h"
#include "io/atomic_file.h"
#include "io/data_error.h"
#include "io/dataset.h"
#include "io/loader.h"
#include "kernels/cpu/gemm.h"
#include "tracking/mlflow_sink.h"
#include "tracking/report.h"
#include "tracking/tensorboard_writer.h"

namespace engine {

namespace fs = std::filesystem;
using nlohmann::json;

namespace {

using Clock = std::chrono::steady_clock;

// The trainer's position, saved in every checkpoint's "progress".
struct Progress {
  std::int64_t step = 0;           // optimizer steps taken
  std::int64_t micro_batches = 0;  // batches consumed (picks dropout masks)
  int epoch = 0;
  double epoch_loss_sum = 0;
  std::int64_t epoch_correct = 0;
  std::int64_t epoch_rows = 0;
  double best_metric = std::numeric_limits<double>::quiet_NaN();
  std::int64_t best_step = -1;
  int bad_evaluations = 0;
  io::LoaderPosition loader;

  json to_json() const {
    return {{"step", step},
            {"micro_batches", micro_batches},
            {"epoch", epoch},
            {"epoch_loss_sum", epoch_loss_sum},
            {"epoch_correct", epoch_correct},
            {"epoch_rows", epoch_rows},
            {"best_metric", std::isnan(best_metric) ? json(nullptr) : json(best_metric)},
            {"best_step", best_step},
            {"bad_evaluations", bad_evaluations},
            {"loader",
             {{"seed", loader.seed},
              {"epoch", loader.epoch},
              {"step", loader.step},
              {"rank", loader.rank},
              {"world_size", loader.world_size},
              {"batch_size", loader.batch_size},
              {"bucket_batches", loader.bucket_batches}}}};
  }
  static Progress from_json(const json& j) {
    Progress p;
    p.step = j.at("step");
    p.micro_batches = j.at("micro_batches");
    p.epoch = j.at("epoch");
    p.epoch_loss_sum = j.at("epoch_loss_sum");
    p.epoch_correct = j.at("epoch_correct");
    p.epoch_rows = j.at("epoch_rows");
    p.best_metric = j.at("best_metric").is_null() ? std::numeric_limits<double>::quiet_NaN()
                                                  : j.at("best_metric").get<double>();
    p.best_step = j.at("best_step");
    p.bad_evaluations = j.at("bad_evaluations");
    const json& l = j.at("loader");
    p.loader = {.seed = l.at("seed"),
                .epoch = l.at("epoch"),
                .step = l.at("step"),
                .rank = l.at("rank"),
                .world_size = l.at("world_size"),
                .batch_size = l.at("batch_size"),
                .bucket_batches = l.at("bucket_batches")};
    return p;
  }
};

// Keeps the lines of a JSONL file whose "step" is at most `step` (the rest belong to a run
// that was interrupted after its last checkpoint).
void truncate_jsonl(const fs::path& path, std::int64_t step) {
  if (!fs::exists(path)) return;
  std::ifstream in(path);
  std::string kept, line;
  while (std::getline(in, line)) {
    if (!line.empty() && json::parse(line).at("step").get<std::int64_t>() <= step)
      kept += line + "\n";
  }
  in.close();
  io::write_file_atomically(path, kept);
}

std::string format_duration(double seconds) {
  const auto s = static_cast<long long>(seconds + 0.5);
  char text[32];
  std::snprintf(text, sizeof text, "%lld:%02lld:%02lld", s / 3600, (s / 60) % 60, s % 60);
  return text;
}

bool higher_is_better(const std::string& metric) {
  return metric != "valid_loss";
}

}  // namespace

TrainOutcome train(const TrainConfig& cfg, const LogFunction& info, const LogFunction& warn,
                   const StopRequest& stop_requested, comm::Communicator* comm,
                   const TrainHooks& hooks) {
  const auto single = comm::make_single_process();
  comm::Communicator& world = comm != nullptr ? *comm : *single;
  const bool root = world.is_root();
  check_device(cfg);
  const io::DatasetInfo dataset = io::DatasetInfo::load(cfg.data);
  const auto train_data = std::make_shared<const io::SplitData>(io::load_split(dataset, "train"));
  std::shared_ptr<const io::SplitData> valid_data, test_data;
  if (dataset.has_split("valid"))
    valid_data = std::make_shared<const io::SplitData>(io::load_split(dataset, "valid"));
  if (dataset.has_split("test"))
    test_data = std::make_shared<const io::SplitData>(io::load_split(dataset, "test"));
  const ModelConfig model_config =
      cfg.model_config(dataset.vocab_size, static_cast<int>(dataset.num_classes()));

  // Ranks that disagree on the configuration or the data would train different models.
  const std::string identity = cfg.to_json().dump() + " " + dataset.fingerprint();
  std::int64_t differs = world.broadcast_string(identity) != identity ? 1 : 0;
  world.allreduce_max(std::span<std::int64_t>(&differs, 1));
  if (differs != 0) {
    throw std::runtime_error("ranks were started with different configurations or datasets (rank " +
                             std::to_string(world.rank()) + ": " + identity + ")");
  }

  const fs::path run(cfg.out);
  const fs::path checkpoints = run / "checkpoints";
  std::error_code error;
  std::int64_t unwritable = 0;
  if (root) {
    fs::create_directories(checkpoints, error);
    unwritable = error || ::access(checkpoints.c_str(), W_OK) != 0 ? 1 : 0;
  }
  world.allreduce_max(std::span<std::int64_t>(&unwritable, 1));
  if (unwritable != 0)
    throw std::runtime_error("--out " + cfg.out + ": cannot create or write the run directory");

  const std::unique_ptr<ModelRunner> runner =
      hooks.make_runner ? hooks.make_runner(model_config)
                        : make_model_runner(cfg, model_config, world, info);
  Model& model = runner->host_model();
  Optimizer& optimizer = runner->host_optimizer();
  io::BatchLoader loader(train_data, {.batch_size = cfg.batch_size,
                                      .seed = cfg.seed,
                                      .shuffle = true,
                                      .rank = world.rank(),
                                      .world_size = world.size(),
                                      .bucket_batches = cfg.bucket_batches,
                                      .prefetch = 2});
  const std::int64_t steps_per_epoch =
      (loader.steps_per_epoch() + cfg.accum_steps - 1) / cfg.accum_steps;
  std::int64_t total_steps = steps_per_epoch * cfg.epochs;
  if (cfg.max_steps > 0) total_steps = std::min(total_steps, cfg.max_steps);
  const LrSchedule schedule = cfg.lr_schedule(total_steps);
  const json config_json = cfg.to_json();

  Progress progress;
  std::optional<Checkpoint> resumed;
  // Rank 0 chooses the checkpoint (a corrupt newest one is skipped); every rank loads that file.
  std::string resume_path;
  if (root) {
    if (cfg.resume == "auto") {
      if (auto found = newest_valid_checkpoint(checkpoints.string(), warn)) {
        resume_path = found->first;
      } else {
        info("[train] no checkpoint in " + checkpoints.string() + ": starting a new run");
      }
    } else if (!cfg.resume.empty()) {
      resume_path = cfg.resume;
    } else if (newest_valid_checkpoint(checkpoints.string(), [](const std::string&) {})) {
      resume_path = "!exists";
    }
  }
  resume_path = world.broadcast_string(resume_path);
  if (resume_path == "!exists") {
    throw std::runtime_error(
        "--out " + cfg.out +
        " already holds a run: continue it with --resume auto, or choose another --out");
  }
  if (!resume_path.empty()) {
    info("[train] resuming from " + resume_path);
    resumed = load_checkpoint(resume_path);
  }
  if (resumed) {
    if (resumed->model_config.to_json() != model_config.to_json()) {
      throw std::runtime_error("the checkpoint's model (" + resumed->model_config.to_json().dump() +
                               ") differs from the configured one (" +
                               model_config.to_json().dump() + ")");
    }
    if (resumed->dataset_fingerprint != dataset.fingerprint()) {
      throw std::runtime_error("the checkpoint was trained on another dataset (fingerprint " +
                               resumed->dataset_fingerprint + ", " + cfg.data + " has " +
                               dataset.fingerprint() + ")");
    }
    load_parameters(*resumed, model);
    optimizer.restore(resumed->optimizer_steps, resumed->first_moment, resumed->second_moment);
    runner->push();
    progress = Progress::from_json(resumed->progress);
    if (resumed->progress.contains("loss_scaler"))
      runner->restore_scaler(resumed->progress.at("loss_scaler"));
    progress.loader.excluded = resumed->loader_excluded;
    if (progress.loader.world_size != world.size() ||
        progress.loader.batch_size != static_cast<std::int64_t>(cfg.batch_size)) {
      // The rest of the interrupted epoch is shared among this run's ranks (io/loader.h).
      info("[train] the checkpoint was written by " + std::to_string(progress.loader.world_size) +
           " rank(s) with batch " + std::to_string(progress.loader.batch_size) +
           "; continuing epoch " + std::to_string(progress.loader.epoch + 1) + " on " +
           std::to_string(world.size()) + " with the examples it has not used yet");
    } else {
      progress.loader.rank = world.rank();  // every rank is at the same step of its own stride
    }
    loader.restore(progress.loader);
    if (root) {
      truncate_jsonl(run / "steps.jsonl", progress.step);
      truncate_jsonl(run / "curves.jsonl", progress.step);
    }
  } else {
    runner->initialize(cfg.seed);
    if (root) {
      for (const char* name : {"steps.jsonl", "curves.jsonl", "curves.csv"})
        fs::remove(run / name, error);
    }
  }
  world.barrier();  // nobody writes before every rank has read what it resumes from
  if (root) io::write_file_atomically(run / "config.yaml", cfg.to_yaml());
  tracking::Tracker tracker;  // rank 0's sinks; empty elsewhere
  if (root && !cfg.tensorboard.empty())
    tracker.add(std::make_unique<tracking::TensorBoardWriter>(cfg.tensorboard));
  if (root && !cfg.mlflow.empty()) {
    tracker.add(std::make_unique<tracking::MlflowSink>(
        tracking::MlflowOptions{.uri = cfg.mlflow,
                                .experiment = cfg.mlflow_experiment,
                                .run_name = cfg.run_name,
                                .parent_run_id = cfg.mlflow_parent_run},
        run.string()));
  }
  tracker.start(config_json, progress.step);
  // A run that throws is reported as failed to the sinks (a stop request returns normally).
  struct FailOnUnwind {
    tracking::Tracker& tracker;
    std::string run;
    bool armed = true;
    ~FailOnUnwind() {
      if (!armed) return;
      try {
        tracker.finish(tracking::RunStatus::failed, run);
      } catch (...) {  // already unwinding: the original error is the one to report
      }
    }
  } fail_on_unwind{tracker, run.string()};
  char host[256] = {};
  ::gethostname(host, sizeof host - 1);
  const std::vector<std::string> hosts =
      world.gather(std::string(host) + "/" + std::to_string(world.local_rank()), 0);
  StepTelemetry telemetry(cfg, world, host);
  if (telemetry.metrics_port() > 0) {
    info("[metrics] serving Prometheus metrics on http://" + cfg.metrics_host + ":" +
         std::to_string(telemetry.metrics_port()) + "/metrics");
  }
  if (root) {  // the log decides what the terminal shows (--quiet, --log-level)
    std::string placement;
    for (std::size_t r = 0; r < hosts.size(); ++r)
      placement += (r ? ", " : "") + std::to_string(r) + "@" + hosts[r];
    info("[train] " + world.name() + " (rank@host/local: " + placement + "); " +
         runner->describe());
    if (const std::string advice = cpu::blas_kernel_warning();
        cfg.device == "cpu" && !advice.empty()) {
      warn("[cpu] " + advice);
    }
    if (cfg.device == "cuda" && cfg.threads > 1) {
      warn("[train] --threads " + std::to_string(cfg.threads) +
           " is a CPU option: with --device cuda each rank drives one GPU (mpirun -np N for more)");
    }
    info("[train] configuration:\n" + cfg.to_yaml());
    info("[train] model: " + std::to_string(model.parameters().size()) + " parameters; " +
         std::to_string(train_data->size()) + " training examples, " +
         std::to_string(steps_per_epoch) + " steps per epoch");
  }

  // Only rank 0 writes; the other ranks' streams stay closed and ignore what they are given.
  std::ofstream steps_log, curves_log, curves_csv;
  if (root) {
    steps_log.open(run / "steps.jsonl", std::ios::app);
    curves_log.open(run / "curves.jsonl", std::ios::app);
    const bool fresh_csv = !fs::exists(run / "curves.csv");
    curves_csv.open(run / "curves.csv", std::ios::app);
    if (fresh_csv)
      curves_csv
          << "epoch,step,train_loss,train_accuracy,valid_loss,valid_accuracy,valid_macro_f1,lr\n";
  }

  const auto save = [&](const fs::path& path, const Optimizer* opt) {
    progress.loader = loader.position();
    if (!root) return;
    runner->pull();
    json state = progress.to_json();
    if (const json scaler = runner->scaler_state(); !scaler.is_null())
      state["loss_scaler"] = scaler;
    save_checkpoint(path.string(), model, opt, config_json, dataset.class_names,
                    dataset.fingerprint(), state, progress.loader.excluded);
  };
  double side_seconds = 0;  // validation and checkpoints, left out of the throughput
  const auto timed = [&](const char* name, auto&& work) {
    const auto begin = Clock::now();
    const auto wall_begin = StepTelemetry::now();
    work();
    side_seconds += std::chrono::duration<double>(Clock::now() - begin).count();
    telemetry.event(name, wall_begin, StepTelemetry::now());
  };
  const auto checkpoint_now = [&] {
    save(checkpoints / checkpoint_file_name(progress.step), &optimizer);
    if (root) prune_checkpoints(checkpoints.string(), cfg.keep_last);
  };

  TrainOutcome outcome;
  bool stop = false;
  json last_validation;  // what the last validation measured (for hooks.after_epoch)
  const auto validate = [&] {
    const double train_loss =
        progress.epoch_rows ? progress.epoch_loss_sum / static_cast<double>(progress.epoch_rows)
                            : 0.0;
    const double train_accuracy =
        progress.epoch_rows
            ? static_cast<double>(progress.epoch_correct) / static_cast<double>(progress.epoch_rows)
            : 0.0;
    json line = {{"epoch", progress.epoch},
                 {"step", progress.step},
                 {"train_loss", train_loss},
                 {"train_accuracy", train_accuracy},
                 {"lr", schedule.at(std::max<std::int64_t>(progress.step - 1, 0))}};
    if (valid_data) {
      const EvalResult valid = evaluate_split(*runner, valid_data, cfg.batch_size, &world);
      line["valid_loss"] = valid.loss;
      line["valid_accuracy"] = valid.confusion.accuracy();
      line["valid_macro_f1"] = valid.confusion.macro_f1();
      telemetry.validation(valid.loss, valid.confusion.accuracy(), valid.confusion.macro_f1());
      const double value = line[cfg.early_stop_metric].get<double>();
      const bool improved =
          std::isnan(progress.best_metric) ||
          (higher_is_better(cfg.early_stop_metric) ? value > progress.best_metric
                                                   : value < progress.best_metric);
      if (improved) {
        progress.best_metric = value;
        progress.best_step = progress.step;
        progress.bad_evaluations = 0;
        save(run / "best.h5", nullptr);
      } else if (cfg.patience > 0 && ++progress.bad_evaluations >= cfg.patience) {
        info("[train] early stop: " + cfg.early_stop_metric + " has not improved in " +
             std::to_string(cfg.patience) + " validations (best " +
             std::to_string(progress.best_metric) + " at step " +
             std::to_string(progress.best_step) + ")");
        outcome.stopped_early = true;
        stop = true;
      }
      char text[256];
      std::snprintf(text, sizeof text,
                    "[train] epoch %d step %lld: train loss %.4f acc %.4f | valid loss %.4f acc "
                    "%.4f macro-F1 %.4f%s",
                    progress.epoch + 1, static_cast<long long>(progress.step), train_loss,
                    train_accuracy, valid.loss, valid.confusion.accuracy(),
                    valid.confusion.macro_f1(), improved ? " (best)" : "");
      info(text);
    }
    curves_log << line.dump() << '\n' << std::flush;
    last_validation = line;
    std::vector<tracking::Scalar> scalars = {{"epoch/train_loss", train_loss},
                                             {"epoch/train_accuracy", train_accuracy}};
    for (const char* key : {"valid_loss", "valid_accuracy", "valid_macro_f1"}) {
      if (line.contains(key))
        scalars.push_back({std::string("valid/") + (key + 6), line[key].get<double>()});
    }
    tracker.scalars(progress.step, scalars);
    const auto field = [&](const char* key) {
      return line.contains(key) ? std::to_string(line[key].get<double>()) : std::string();
    };
    curves_csv << progress.epoch << ',' << progress.step << ',' << field("train_loss") << ','
               << field("train_accuracy") << ',' << field("valid_loss") << ','
               << field("valid_accuracy") << ',' << field("valid_macro_f1") << ',' << field("lr")
               << '\n'
               << std::flush;
    if (root) tracking::write_run_report(run.string());  // plots stay current while training
  };

  // Stopped on request (a signal, or a hook's pause) after a checkpoint: resumable.
  const auto interrupted = [&] {
    outcome.interrupted = true;
    outcome.steps = progress.step;
    fail_on_unwind.armed = false;
    tracker.finish(tracking::RunStatus::interrupted, run.string());
    telemetry.finish();
    return outcome;
  };

  const bool tty = root && ::isatty(STDERR_FILENO) != 0 && !cfg.quiet;
  const bool mixed_precision = !runner->scaler_state().is_null();
  const auto start = Clock::now();
  const std::int64_t start_step = progress.step;
  std::int64_t rows_since_start = 0;
  io::Batch batch;
  while (!stop && progress.epoch < cfg.epochs) {
    runner->zero_grads();
    double loss_sum = 0;
    std::int64_t rows = 0, correct = 0, tokens = 0;
    bool epoch_done = false;
    const auto step_start = Clock::now();
    for (int a = 0; a < cfg.accum_steps; ++a) {
      const auto wait_begin = StepTelemetry::now();
      const bool got_batch = loader.next(batch);
      const auto compute_begin = StepTelemetry::now();
      telemetry.phase(Phase::data, wait_begin, compute_begin);
      if (!got_batch) {
        epoch_done = true;
        break;
      }
      const StepResult r =
          runner->train_step(batch, cfg.seed, static_cast<std::uint64_t>(progress.micro_batches++),
                             a + 1 == cfg.accum_steps);
      const auto forward_end =
          compute_begin + std::chrono::duration_cast<StepTelemetry::Clock::duration>(
                              std::chrono::duration<double>(r.forward_seconds));
      telemetry.phase(Phase::forward, compute_begin, forward_end);
      telemetry.phase(Phase::backward, forward_end, StepTelemetry::now());
      loss_sum += r.loss_sum;
      rows += r.rows;
      correct += r.correct;
      for (const auto length : batch.lengths) tokens += length;
    }
    // One reduction per step: gradients, then the counts and the stop request (a signal on any
    // rank stops every rank at this same step boundary).
    std::int64_t counts[5] = {rows, correct, tokens, epoch_done ? 1 : 0,
                              stop_requested && stop_requested(progress.step + 1) ? 1 : 0};
    if (world.size() > 1) {
      const auto reduce_start = Clock::now();
      const auto wall_start = StepTelemetry::now();
      for (const auto& b : runner->reduce_gradients(world)) telemetry.bucket(b.begin, b.end);
      world.allreduce_sum(std::span<double>(&loss_sum, 1));
      world.allreduce_sum(std::span<std::int64_t>(counts, 3));
      world.allreduce_max(std::span<std::int64_t>(counts + 3, 2));
      rows = counts[0];
      correct = counts[1];
      tokens = counts[2];
      outcome.communication_seconds +=
          std::chrono::duration<double>(Clock::now() - reduce_start).count();
      telemetry.phase(Phase::allreduce, wall_start, StepTelemetry::now());
    }
    epoch_done = counts[3] != 0;
    const bool stop_now = counts[4] != 0;
    if (rows > 0) {
      const auto optimizer_begin = StepTelemetry::now();
      const double lr = schedule.at(progress.step);
      const ModelRunner::Update update =
          runner->update(rows, cfg.clip_norm, static_cast<float>(lr));
      const double norm = update.grad_norm;
      telemetry.phase(Phase::optimizer, optimizer_begin, StepTelemetry::now());
      ++progress.step;
      if (progress.step == start_step + 1 && root && !runner->memory_report().empty())
        info("[train] after the first step: " + runner->memory_report());
      progress.epoch_loss_sum += loss_sum;
      progress.epoch_correct += correct;
      progress.epoch_rows += rows;
      rows_since_start += rows;
      char line[256];
      std::snprintf(line, sizeof line,
                    "{\"step\":%lld,\"epoch\":%d,\"loss\":%.9g,\"accuracy\":%.6f,\"lr\":%.9g,",
                    static_cast<long long>(progress.step), progress.epoch,
                    loss_sum / static_cast<double>(rows),
                    static_cast<double>(correct) / static_cast<double>(rows), lr);
      std::string record = line;
      if (update.skipped) {  // the gradients held inf/NaN (fp16): no norm, no optimizer step
        record += "\"grad_norm\":null,\"skipped\":true";
        if (root) {
          warn("[amp] step " + std::to_string(progress.step) +
               ": inf/NaN gradients at loss scale " + std::to_string(update.loss_scale) +
               "; step skipped, scale halved");
        }
      } else {
        std::snprintf(line, sizeof line, "\"grad_norm\":%.9g", norm);
        record += line;
      }
      if (mixed_precision) {
        std::snprintf(line, sizeof line, ",\"loss_scale\":%.9g", update.loss_scale);
        record += line;
      }
      steps_log << record << "}\n" << std::flush;
      telemetry.end_step({.step = progress.step,
                          .epoch = progress.epoch,
                          .loss = loss_sum / static_cast<double>(rows),
                          .accuracy = static_cast<double>(correct) / static_cast<double>(rows),
                          .lr = lr,
                          .rows = rows,
                          .tokens = tokens,
                          .loss_scale = update.loss_scale,
                          .skipped = update.skipped});
      if (!tracker.empty()) {
        const double step_seconds =
            std::max(std::chrono::duration<double>(Clock::now() - step_start).count(), 1e-9);
        const tracking::Scalar scalars[] = {
            {"train/loss", loss_sum / static_cast<double>(rows)},
            {"train/accuracy", static_cast<double>(correct) / static_cast<double>(rows)},
            {"train/lr", lr},
            {"train/grad_norm", norm},
            {"perf/step_seconds", step_seconds},
            {"perf/samples_per_second", static_cast<double>(rows) / step_seconds},
            {"perf/tokens_per_second", static_cast<double>(tokens) / step_seconds},
            {"train/loss_scale", update.loss_scale}};
        tracker.scalars(progress.step, scalars);
      }

      const double elapsed = std::chrono::duration<double>(Clock::now() - start).count();
      if (tty || (root && cfg.log_every > 0 && progress.step % cfg.log_every == 0)) {
        const double per_step = elapsed / static_cast<double>(progress.step - start_step);
        char text[256];
        std::snprintf(
            text, sizeof text,
            "epoch %d/%d step %lld/%lld loss %.4f acc %.3f lr %.2e %.0f samples/s ETA %s",
            progress.epoch + 1, cfg.epochs, static_cast<long long>(progress.step),
            static_cast<long long>(total_steps),
            progress.epoch_loss_sum / static_cast<double>(progress.epoch_rows),
            static_cast<double>(progress.epoch_correct) / static_cast<double>(progress.epoch_rows),
            lr, static_cast<double>(rows_since_start) / elapsed,
            format_duration(per_step * static_cast<double>(total_steps - progress.step)).c_str());
        if (tty) {
          std::fprintf(stderr, "\r%s\x1b[K", text);
        } else {
          info(std::string("[train] ") + text);
        }
      }
      if (cfg.eval_every > 0 && progress.step % cfg.eval_every == 0) {
        if (tty) std::fprintf(stderr, "\n");
        timed("validation", validate);
      }
      if (cfg.checkpoint_every > 0 && progress.step % cfg.checkpoint_every == 0)
        timed("checkpoint", checkpoint_now);
      if (cfg.max_steps > 0 && progress.step >= cfg.max_steps) stop = true;
      if (stop_now) {
        timed("checkpoint", checkpoint_now);
        info("[train] stopped on request at step " + std::to_string(progress.step) +
             "; continue with --resume auto");
        return interrupted();
      }
    }
    if (epoch_done) {
      if (tty) std::fprintf(stderr, "\n");
      if (cfg.eval_every == 0) timed("validation", validate);
      ++progress.epoch;
      ++outcome.epochs_completed;
      progress.epoch_loss_sum = 0;
      progress.epoch_correct = progress.epoch_rows = 0;
      timed("checkpoint", checkpoint_now);
      if (hooks.after_epoch) {
        const EpochDecision decision =
            hooks.after_epoch(progress.epoch, progress.step, last_validation);
        if (decision == EpochDecision::pause) return interrupted();
        if (decision == EpochDecision::stop) {
          outcome.stopped_by_hook = true;
          stop = true;
        }
      }
    }
  }
  if (tty) std::fprintf(stderr, "\n");
  outcome.train_seconds =
      std::chrono::duration<double>(Clock::now() - start).count() - side_seconds;
  outcome.samples_per_second =
      static_cast<double>(rows_since_start) / std::max(outcome.train_seconds, 1e-9);
  timed("checkpoint", checkpoint_now);
  outcome.steps = progress.step;
  outcome.best_metric = progress.best_metric;

  // The model to report: the best by validation, or the final one when there is no validation.
  world.barrier();  // rank 0 has written best.h5
  if (valid_data && fs::exists(run / "best.h5")) {
    load_parameters(load_checkpoint((run / "best.h5").string()), model);
    runner->push();
  } else {
    save(run / "best.h5", nullptr);
  }
  if (test_data) {
    const EvalResult test = evaluate_split(*runner, test_data, cfg.batch_size, &world);
    json report = test.confusion.report(dataset.class_names);
    report["loss"] = test.loss;
    report["split"] = "test";
    report["checkpoint"] = (run / "best.h5").string();
    report["step"] = progress.best_step >= 0 ? progress.best_step : progress.step;
    if (root) io::write_file_atomically(run / "test_report.json", report.dump(2) + "\n");
    outcome.test_accuracy = test.confusion.accuracy();
    const tracking::Scalar scalars[] = {{"test/loss", test.loss},
                                        {"test/accuracy", test.confusion.accuracy()},
                                        {"test/macro_f1", test.confusion.macro_f1()}};
    tracker.scalars(progress.step, scalars);
    if (root) info("[eval] test split, best model:\n" + test.confusion.table(dataset.class_names));
  }
  if (root) tracking::write_run_report(run.string());
  fail_on_unwind.armed = false;
  tracker.finish(tracking::RunStatus::finished, run.string());
  telemetry.finish();
  return outcome;
}

}  // namespace engine
