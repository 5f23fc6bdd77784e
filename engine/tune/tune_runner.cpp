#include "engine/tune/tune_runner.h"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>
#include <yaml-cpp/yaml.h>

#include <CLI/CLI.hpp>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <thread>

#include "engine/checkpoint.h"
#include "io/atomic_file.h"
#include "io/dataset.h"
#include "tracking/mlflow_store.h"
#include "tracking/report.h"
#include "tracking/svg_chart.h"

namespace engine::tune {

namespace fs = std::filesystem;
using nlohmann::json;

namespace {

constexpr int kRequestTag = 7101, kReplyTag = 7102;
using Clock = std::chrono::steady_clock;

std::string trial_name(int id) {
  char name[32];
  std::snprintf(name, sizeof name, "trial-%04d", id);
  return name;
}

void write_results(const TuneOptions& options, const Coordinator& c);

std::string flag_value(const json& value) {
  return value.is_string() ? value.get<std::string>() : value.dump();
}

double unix_now() {
  return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
}

// The coordinator with its saved state, shared by rank 0's two threads (or, for one request,
// by the array task holding the state file's lock).
class Service {
 public:
  // `on_finish` runs (under the lock) after each trial ends: the results files stay current.
  // Times are seconds since `began_unix`.
  Service(Coordinator coordinator, std::string state_path, const LogFunction& info,
          std::function<void(const Coordinator&)> on_finish, double began_unix)
      : coordinator_(std::move(coordinator)),
        state_path_(std::move(state_path)),
        info_(info),
        on_finish_(std::move(on_finish)),
        began_unix_(began_unix) {}

  json handle(const json& message) {
    const std::lock_guard lock(mutex_);
    const double now = unix_now() - began_unix_;
    const std::string type = message.at("type");
    json reply = json::object();
    if (type == "next") {
      const Assignment a = coordinator_.next(now, message.value("owner", ""));
      reply = {{"what", a.what == Assignment::What::start  ? "start"
                        : a.what == Assignment::What::wait ? "wait"
                                                           : "done"},
               {"trial", a.trial},
               {"params", a.params},
               {"resume", a.resume}};
      if (a.what == Assignment::What::start)
        info_("[tune] " + trial_name(a.trial) + (a.resume ? " resumes: " : " starts: ") +
              a.params.dump());
    } else if (type == "report") {
      const int trial = message.at("trial");
      const int epoch = message.at("epoch");
      const double metric = message.at("metric");
      const Decision d = coordinator_.report(trial, epoch, metric, now);
      reply = {{"action", d.action == Action::stop      ? "stop"
                          : d.action == Action::exploit ? "exploit"
                                                        : "keep_going"},
               {"donor", d.donor},
               {"donor_epoch", d.donor_epoch},
               {"params", d.params}};
      info_("[tune] " + trial_name(trial) + " epoch " + std::to_string(epoch) + ": " +
            coordinator_.settings().metric + " " + std::to_string(metric) +
            (d.action == Action::stop ? " -> stopped"
             : d.action == Action::exploit
                 ? " -> exploits " + trial_name(d.donor) + ", now " + d.params.dump()
                 : ""));
    } else if (type == "finish") {
      coordinator_.finish(message.at("trial"), parse_status(message.at("status")), now);
      info_("[tune] " + trial_name(message.at("trial")) + " " +
            message.at("status").get<std::string>());
      on_finish_(coordinator_);
    }
    save();
    return reply;
  }

  Coordinator& coordinator() { return coordinator_; }
  void save() {
    json state = coordinator_.state();
    state["began_unix"] = began_unix_;
    io::write_file_atomically(state_path_, state.dump(1) + "\n");
  }

 private:
  std::mutex mutex_;
  Coordinator coordinator_;
  std::string state_path_;
  const LogFunction& info_;
  std::function<void(const Coordinator&)> on_finish_;
  double began_unix_;
};

// How a group leader reaches the coordinator.
class Link {
 public:
  virtual ~Link() = default;
  virtual json request(const json& message) = 0;
};

class LocalLink final : public Link {
 public:
  explicit LocalLink(Service& service) : service_(service) {}
  json request(const json& message) override { return service_.handle(message); }

 private:
  Service& service_;
};

class MpiLink final : public Link {
 public:
  explicit MpiLink(comm::Communicator& channel) : channel_(channel) {}
  json request(const json& message) override {
    channel_.send_string(message.dump(), 0, kRequestTag);
    return json::parse(channel_.receive_string(0, kReplyTag));
  }

 private:
  comm::Communicator& channel_;
};

// An exclusive flock on a file for the life of the object (Slurm array tasks of one tune).
class FileLock {
 public:
  explicit FileLock(const std::string& path) : fd_(::open(path.c_str(), O_CREAT | O_RDWR, 0644)) {
    if (fd_ < 0 || ::flock(fd_, LOCK_EX) != 0)
      throw std::runtime_error(path + ": cannot lock: " + std::strerror(errno));
  }
  ~FileLock() {
    ::flock(fd_, LOCK_UN);
    ::close(fd_);
  }
  FileLock(const FileLock&) = delete;
  FileLock& operator=(const FileLock&) = delete;

 private:
  int fd_;
};

// Array tasks share the coordinator through DIR/tune_state.json: each request locks the file,
// loads the state, handles the message as the coordinator would, saves and unlocks.
class FileLink final : public Link {
 public:
  FileLink(const TuneOptions& options, TuneSettings settings, const SearchSpace& space,
           std::string owner, const LogFunction& info)
      : options_(options),
        settings_(std::move(settings)),
        space_(space),
        owner_(std::move(owner)),
        info_(info) {}

  json request(const json& message) override {
    const fs::path out(options_.out);
    const FileLock lock((out / "tune_state.lock").string());
    Coordinator coordinator(settings_, space_);
    double began = unix_now();
    if (fs::exists(out / "tune_state.json")) {
      std::ifstream in(out / "tune_state.json");
      const json state = json::parse(in);
      coordinator.restore(state, Coordinator::Restore::share);
      began = state.value("began_unix", began);
    }
    Service service(
        std::move(coordinator), (out / "tune_state.json").string(), info_,
        [this](const Coordinator& c) { write_results(options_, c); }, began);
    json tagged = message;
    tagged["owner"] = owner_;
    return service.handle(tagged);
  }

 private:
  const TuneOptions& options_;
  TuneSettings settings_;
  SearchSpace space_;
  std::string owner_;
  const LogFunction& info_;
};

// PBT's exploit: the checkpoint the donor wrote after `epochs` epochs (its curves say at which
// step) replaces the trial's own.
void copy_donor_checkpoint(const fs::path& donor_run, int epochs, const fs::path& run) {
  fs::path source;
  for (const json& line : tracking::read_jsonl((donor_run / "curves.jsonl").string())) {
    if (line.at("epoch").get<int>() == epochs - 1)
      source = donor_run / "checkpoints" / checkpoint_file_name(line.at("step"));
  }
  if (source.empty() || !fs::exists(source))
    throw std::runtime_error(donor_run.string() + " has no checkpoint of epoch " +
                             std::to_string(epochs));
  const fs::path own = run / "checkpoints";
  fs::remove_all(own);
  fs::create_directories(own);
  fs::copy_file(source, own / source.filename());
}

// Every rank of a group runs this; only the leader talks to the coordinator.
// Runs trials until the coordinator says done (or `max_trials` of them, when positive).
void run_worker(const TuneOptions& options, Link* link, comm::Communicator& group,
                const std::string& mlflow_parent, const LogFunction& warn, int max_trials = 0) {
  const bool leader = group.is_root();
  const auto ask = [&](const json& message) {
    const std::string reply = leader ? link->request(message).dump() : std::string();
    return json::parse(group.broadcast_string(reply));
  };
  const fs::path trials = fs::path(options.out) / "trials";
  const std::string metric = options.settings.metric;
  for (int done = 0; max_trials <= 0 || done < max_trials; ++done) {
    const json next = ask({{"type", "next"}});
    if (next["what"] == "done") break;
    if (next["what"] == "wait") {
      std::this_thread::sleep_for(std::chrono::milliseconds(200));
      --done;
      continue;
    }
    const int id = next["trial"];
    json params = next["params"];
    const fs::path run = trials / trial_name(id);
    TrialStatus status = TrialStatus::finished;
    try {
      for (;;) {
        TrainConfig cfg = trial_config(options.base, params, run.string());
        cfg.resume = "auto";
        cfg.quiet = true;
        // PBT continues trials from each other's epoch checkpoints: keep them all.
        if (options.settings.scheduler == "pbt") cfg.keep_last = 0;
        if (!options.base.tensorboard.empty())
          cfg.tensorboard = (fs::path(options.base.tensorboard) / trial_name(id)).string();
        cfg.run_name = trial_name(id);
        cfg.mlflow_parent_run = mlflow_parent;
        json decision;
        TrainHooks hooks;
        hooks.after_epoch = [&](int epochs, std::int64_t, const json& line) {
          decision = ask(
              {{"type", "report"}, {"trial", id}, {"epoch", epochs}, {"metric", line.at(metric)}});
          return decision["action"] == "stop"      ? EpochDecision::stop
                 : decision["action"] == "exploit" ? EpochDecision::pause
                                                   : EpochDecision::keep_going;
        };
        const TrainOutcome outcome = train(
            cfg, [](const std::string&) {}, warn, {}, &group, hooks);
        if (outcome.interrupted && decision.value("action", "") == "exploit") {
          if (leader)
            copy_donor_checkpoint(trials / trial_name(decision["donor"]), decision["donor_epoch"],
                                  run);
          group.barrier();
          params = decision["params"];
          continue;
        }
        status = outcome.stopped_by_hook ? TrialStatus::stopped : TrialStatus::finished;
        break;
      }
    } catch (const std::exception& e) {
      warn("[tune] " + trial_name(id) + " failed: " + e.what());
      status = TrialStatus::failed;
    }
    ask({{"type", "finish"}, {"trial", id}, {"status", status_name(status)}});
  }
}

// The coordinator thread: answers the other groups' leaders until each has said goodbye.
void serve(Service& service, comm::Communicator& channel, int remote_leaders,
           std::atomic<bool>& failed, std::string& error) {
  try {
    while (remote_leaders > 0) {
      const auto message = channel.try_receive_string(kRequestTag);
      if (!message) {
        std::this_thread::sleep_for(std::chrono::milliseconds(2));
        continue;
      }
      const json request = json::parse(message->second);
      if (request["type"] == "bye") {
        --remote_leaders;
        continue;
      }
      channel.send_string(service.handle(request).dump(), message->first, kReplyTag);
    }
  } catch (const std::exception& e) {
    error = e.what();
    failed = true;
  }
}

// The best trial's configuration as engine_train --config YAML (run-specific keys left out).
void write_best_yaml(const fs::path& out, const fs::path& trial_run) {
  const YAML::Node config = YAML::LoadFile((trial_run / "config.yaml").string());
  YAML::Emitter yaml;
  yaml << YAML::BeginMap;
  for (const auto& entry : config) {
    const std::string key = entry.first.as<std::string>();
    if (key == "out" || key == "resume" || key == "tensorboard" || key == "mlflow" ||
        key == "mlflow_parent_run" || key == "run_name" || key == "timeline" ||
        key == "metrics_port" || key == "metrics_host")
      continue;
    yaml << YAML::Key << key << YAML::Value << entry.second;
  }
  yaml << YAML::EndMap;
  io::write_file_atomically((out / "best.yaml").string(), std::string(yaml.c_str()) + "\n");
}

void write_results(const TuneOptions& options, const Coordinator& c) {
  const fs::path out(options.out);
  json rows = json::array();
  std::string csv = "trial,status,epochs,best_" + options.settings.metric + ",last_" +
                    options.settings.metric + ",started_s,ended_s,params\n";
  tracking::Series per_trial{.label = "trial's best", .x = {}, .y = {}};
  tracking::Series best_so_far{.label = "best so far", .x = {}, .y = {}};
  tracking::Series over_time{.label = "trial's best", .x = {}, .y = {}};
  double best = -INFINITY;
  for (const Trial& t : c.trials()) {
    const bool scored = !t.scores.empty();
    const double best_metric = scored ? c.metric(t.best_score()) : NAN;
    const double last_metric = scored ? c.metric(t.last_score()) : NAN;
    rows.push_back({{"trial", t.id},
                    {"status", status_name(t.status)},
                    {"epochs", t.epochs()},
                    {"best", scored ? json(best_metric) : json(nullptr)},
                    {"last", scored ? json(last_metric) : json(nullptr)},
                    {"started_s", t.started_s},
                    {"ended_s", t.ended_s},
                    {"params", t.params},
                    {"exploits", t.exploits},
                    {"run_dir", (out / "trials" / trial_name(t.id)).string()}});
    std::string quoted = t.params.dump();
    for (std::size_t at = quoted.find('"'); at != std::string::npos; at = quoted.find('"', at + 2))
      quoted.insert(at, 1, '"');
    csv += std::to_string(t.id) + "," + status_name(t.status) + "," + std::to_string(t.epochs()) +
           "," + (scored ? std::to_string(best_metric) : "") + "," +
           (scored ? std::to_string(last_metric) : "") + "," + std::to_string(t.started_s) + "," +
           std::to_string(t.ended_s) + ",\"" + quoted + "\"\n";
    if (!scored) continue;
    best = std::max(best, t.best_score());
    per_trial.x.push_back(t.id);
    per_trial.y.push_back(best_metric);
    best_so_far.x.push_back(t.id);
    best_so_far.y.push_back(c.metric(best));
    over_time.x.push_back(t.ended_s);
    over_time.y.push_back(best_metric);
  }
  const auto best_trial = c.best_trial();
  json results = {{"settings", c.settings().to_json()},
                  {"metric", options.settings.metric},
                  {"mode", options.settings.mode},
                  {"best_trial", best_trial ? json(*best_trial) : json(nullptr)},
                  {"trials", rows}};
  io::write_file_atomically((out / "results.json").string(), results.dump(2) + "\n");
  io::write_file_atomically((out / "results.csv").string(), csv);
  fs::create_directories(out / "plots");
  const std::string metric = options.settings.metric;
  io::write_file_atomically(
      (out / "plots" / "tune.svg").string(),
      tracking::to_svg(tracking::LineChart{.title = metric + " by trial",
                                           .x_label = "trial",
                                           .y_label = metric,
                                           .series = {per_trial, best_so_far}}));
  io::write_file_atomically(
      (out / "plots" / "tune_time.svg").string(),
      tracking::to_svg(tracking::LineChart{.title = metric + " by time",
                                           .x_label = "seconds since the tune began",
                                           .y_label = metric,
                                           .series = {over_time}}));
  if (best_trial) write_best_yaml(out, out / "trials" / trial_name(*best_trial));
}

// The tune's MLflow parent run (each trial is a child of it), created once and kept in
// DIR/mlflow_parent.txt; "" without --mlflow.
std::string mlflow_parent_run(const TuneOptions& options) {
  if (options.base.mlflow.empty()) return {};
  const fs::path out(options.out);
  const fs::path saved = out / "mlflow_parent.txt";
  std::string id;
  if (fs::exists(saved)) {
    std::ifstream in(saved);
    std::getline(in, id);
    return id;
  }
  auto store = tracking::open_mlflow_store(options.base.mlflow);
  const std::string name = "tune " + out.filename().string();
  id = store->create_run(store->experiment(options.base.mlflow_experiment), name,
                         tracking::mlflow_now_ms(),
                         {{"mlflow.runName", name}, {"mlflow.source.name", "engine_tune"}});
  io::write_file_atomically(saved.string(), id + "\n");
  return id;
}

// The tune's summary on its MLflow parent run, which then ends.
void finish_mlflow_parent(const TuneOptions& options, const std::string& parent,
                          const Coordinator& c) {
  if (parent.empty()) return;
  auto store = tracking::open_mlflow_store(options.base.mlflow);
  if (!store->has_run(store->experiment(options.base.mlflow_experiment), parent)) return;
  std::vector<tracking::MlflowMetric> metrics;
  const auto now_ms = tracking::mlflow_now_ms();
  for (const Trial& t : c.trials()) {
    if (!t.scores.empty())
      metrics.push_back(
          {"trial/best_" + options.settings.metric, c.metric(t.best_score()), now_ms, t.id});
  }
  if (const auto best = c.best_trial()) {
    metrics.push_back({"best_" + options.settings.metric,
                       c.metric(c.trials()[static_cast<std::size_t>(*best)].best_score()), now_ms,
                       0});
  }
  const TuneSettings& s = options.settings;
  store->log_batch(parent, metrics,
                   {{"searcher", s.searcher},
                    {"scheduler", s.scheduler},
                    {"num_samples", std::to_string(s.num_samples)},
                    {"metric", s.metric},
                    {"mode", s.mode}},
                   {});
  store->set_status(parent, tracking::MlflowRunStatus::finished, tracking::mlflow_now_ms());
}

// Who this process is among the tasks sharing the state file: a requeued Slurm array task is
// the same owner again and resumes its trial.
std::string array_owner() {
  const char* job = std::getenv("SLURM_ARRAY_JOB_ID");
  const char* task = std::getenv("SLURM_ARRAY_TASK_ID");
  if (job != nullptr && task != nullptr) return std::string("slurm:") + job + "_" + task;
  char host[256] = {};
  ::gethostname(host, sizeof host - 1);
  return std::string("process:") + host + ":" + std::to_string(::getpid());
}

// One task of a job array: one trial on this task's ranks, coordinated through the state file.
TuneSummary run_array_task(const TuneOptions& options, const TuneSettings& settings,
                           const SearchSpace& space, comm::Communicator& world,
                           const LogFunction& info, const LogFunction& warn) {
  if (options.ranks_per_trial != world.size())
    throw std::invalid_argument(
        "--array-task: each task trains one trial on all its ranks; "
        "--ranks-per-trial must be " +
        std::to_string(world.size()));
  const fs::path out(options.out);
  std::string parent;
  if (world.is_root()) {
    fs::create_directories(out / "trials");
    const FileLock lock((out / "tune_state.lock").string());
    parent = mlflow_parent_run(options);
  }
  parent = world.broadcast_string(parent);
  const auto group = world.split(0, world.rank());
  std::unique_ptr<Link> link;
  if (world.is_root())
    link = std::make_unique<FileLink>(options, settings, space, array_owner(), info);
  run_worker(options, link.get(), *group, parent, warn, /*max_trials=*/1);
  world.barrier();
  return {};
}

}  // namespace

TrainConfig trial_config(const TrainConfig& base, const json& params, const std::string& out) {
  TrainConfig cfg = base;
  CLI::App app;
  add_train_options(app, cfg);
  std::vector<std::string> args = {"--data", base.data, "--out", out};
  for (const auto& [key, value] : params.items()) {
    std::string flag = key;
    std::replace(flag.begin(), flag.end(), '_', '-');
    if (app.get_option_no_throw("--" + flag) == nullptr || flag == "data" || flag == "out" ||
        flag == "config")
      throw std::invalid_argument("--space: '" + key + "' is not an engine_train option");
    args.push_back("--" + flag + "=" + flag_value(value));
  }
  std::reverse(args.begin(), args.end());  // CLI11 takes the vector back to front
  try {
    app.parse(args);
  } catch (const CLI::ParseError& e) {
    throw std::invalid_argument("--space: " + params.dump() + ": " + e.what());
  }
  cfg.validate();
  return cfg;
}

TuneSummary run_tune(const TuneOptions& options, comm::Communicator& world, const LogFunction& info,
                     const LogFunction& warn) {
  const int G = options.ranks_per_trial;
  if (G < 1 || world.size() % G != 0) {
    throw std::invalid_argument("--ranks-per-trial " + std::to_string(G) +
                                " must divide the number of ranks (" +
                                std::to_string(world.size()) + ")");
  }
  const SearchSpace space = SearchSpace::from_yaml_file(options.space_path);
  TuneSettings settings = options.settings;
  settings.max_epochs = options.base.epochs;
  const std::vector<std::string> metrics = {"valid_accuracy", "valid_macro_f1", "valid_loss",
                                            "train_loss", "train_accuracy"};
  if (std::find(metrics.begin(), metrics.end(), settings.metric) == metrics.end())
    throw std::invalid_argument("--metric " + settings.metric +
                                ": expected valid_accuracy, valid_macro_f1, valid_loss, "
                                "train_loss or train_accuracy");
  if (settings.metric.rfind("valid_", 0) == 0 &&
      !io::DatasetInfo::load(options.base.data).has_split("valid"))
    throw std::invalid_argument("--metric " + settings.metric + ": " + options.base.data +
                                " has no validation split");
  if (settings.scheduler == "pbt") {
    // Exploit continues another trial's checkpoint: the model must stay the same shape.
    for (const Parameter& p : space.parameters()) {
      for (const char* model_key :
           {"cell", "embed", "hidden", "layers", "bidirectional", "readout", "dense_hidden",
            "dense_activation", "dropout", "label_smoothing", "class_weights"}) {
        if (p.name == model_key)
          throw std::invalid_argument("--scheduler pbt: '" + p.name +
                                      "' changes the model, so trials could not continue each "
                                      "other's checkpoints; search it with asha or none");
      }
    }
  }
  // Every value of the space must be a valid engine_train option: check one sample now.
  {
    std::mt19937_64 random(settings.seed);
    trial_config(options.base, space.sample(random), options.out + "/trials/check");
  }

  const fs::path out(options.out);
  const fs::path state_path = out / "tune_state.json";
  if (options.array_task) return run_array_task(options, settings, space, world, info, warn);
  std::optional<Service> service;  // rank 0
  std::string mlflow_parent;
  if (world.is_root()) {
    fs::create_directories(out / "trials");
    Coordinator coordinator(settings, space);
    if (fs::exists(state_path)) {
      std::ifstream in(state_path);
      coordinator.restore(json::parse(in));
      info("[tune] resuming " + options.out + ": " + std::to_string(coordinator.trials().size()) +
           " trial(s) so far");
    } else if (!fs::is_empty(out / "trials")) {
      throw std::runtime_error(options.out + " holds trials but no tune_state.json");
    }
    mlflow_parent = mlflow_parent_run(options);
    service.emplace(
        std::move(coordinator), state_path.string(), info,
        [&options](const Coordinator& c) { write_results(options, c); }, unix_now());
    service->save();
  }
  mlflow_parent = world.broadcast_string(mlflow_parent);

  const int group_index = world.rank() / G;
  const auto group = world.split(group_index, world.rank());
  const auto channel = world.split(0, world.rank());  // the coordinator's private channel
  const int groups = world.size() / G;
  info("[tune] " + std::to_string(groups) + " group(s) of " + std::to_string(G) +
       " rank(s); searcher " + settings.searcher + ", scheduler " + settings.scheduler + ", " +
       std::to_string(settings.num_samples) + " trial(s), " + settings.metric + " (" +
       settings.mode + ")");

  std::thread coordinator_thread;
  std::atomic<bool> coordinator_failed{false};
  std::string coordinator_error;
  if (world.is_root() && groups > 1) {
    coordinator_thread = std::thread(serve, std::ref(*service), std::ref(*channel), groups - 1,
                                     std::ref(coordinator_failed), std::ref(coordinator_error));
  }
  std::unique_ptr<Link> link;
  if (group->is_root())
    link = world.is_root() ? std::unique_ptr<Link>(std::make_unique<LocalLink>(*service))
                           : std::unique_ptr<Link>(std::make_unique<MpiLink>(*channel));
  run_worker(options, link.get(), *group, mlflow_parent, warn);
  if (group->is_root() && !world.is_root())
    channel->send_string(R"({"type":"bye"})", 0, kRequestTag);
  if (coordinator_thread.joinable()) coordinator_thread.join();
  if (coordinator_failed)
    throw std::runtime_error("the tune coordinator failed: " + coordinator_error);

  TuneSummary summary;
  if (world.is_root()) {
    const Coordinator& c = service->coordinator();
    write_results(options, c);
    finish_mlflow_parent(options, mlflow_parent, c);
    summary.trials = static_cast<int>(c.trials().size());
    if (const auto best = c.best_trial()) {
      summary.best_trial = *best;
      summary.best_metric = c.metric(c.trials()[static_cast<std::size_t>(*best)].best_score());
    }
  }
  world.barrier();
  return summary;
}

}  // namespace engine::tune
