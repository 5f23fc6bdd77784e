// The tracking sinks, checked with the real tools' readers (tests/tracking_reader.py runs them
// in build/pyenv, made by scripts/setup_python.sh): TensorBoard event files, MLflow runs in a file
// store and on a real `mlflow server`; the Prometheus
// exposition and the Chrome-trace timeline (tests/prometheus_test.sh scrapes a live run with a
// real Prometheus).
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <set>

#include "engine/checkpoint.h"
#include "engine/trainer.h"
#include "test_util.h"
#include "tracking/crc32c.h"
#include "tracking/metrics_registry.h"
#include "tracking/report.h"
#include "train_fixtures.h"

namespace engine {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

const std::string kPython = ENGINE_BINARY_DIR "/pyenv/bin/python";

// The JSON tests/tracking_reader.py prints (its last line; the tools may log before it) for
// `tool` on `where`.
json read_back(const std::string& tool, const std::string& where) {
  const auto result = test::run_command(
      kPython + " " ENGINE_SOURCE_DIR "/tests/tracking_reader.py " + tool + " " + where);
  EXPECT_EQ(result.exit_code, 0) << result.output;
  std::string output = result.output;
  while (!output.empty() && output.back() == '\n') output.pop_back();
  return json::parse(output.substr(output.rfind('\n') + 1));
}

bool have_tools() {
  return test::run_command(kPython + " -c 'import tensorboard, mlflow'").exit_code == 0;
}

#define SKIP_WITHOUT_TOOLS()    \
  if (!have_tools())            \
  GTEST_SKIP()                  \
      << "skipped: " << kPython \
      << " with tensorboard and mlflow is missing (bash scripts/setup_python.sh makes it)"

TEST(Crc32c, MatchesTheStandardCheckValues) {
  EXPECT_EQ(tracking::crc32c("123456789", 9), 0xE3069283u);  // the CRC catalogue's check value
  const std::string zeros(32, '\0'), ones(32, '\xff');
  EXPECT_EQ(tracking::crc32c(zeros.data(), 32), 0x8A9136AAu);  // RFC 3720 B.4
  EXPECT_EQ(tracking::crc32c(ones.data(), 32), 0x62A8AB43u);
}

// Every step's loss in steps.jsonl, by step.
std::map<std::int64_t, double> step_losses(const std::string& run) {
  std::map<std::int64_t, double> losses;
  for (const json& r : tracking::read_jsonl(run + "/steps.jsonl")) losses[r["step"]] = r["loss"];
  return losses;
}

TEST(TensorBoard, TheRealReaderSeesEveryScalarAndTheHparams) {
  SKIP_WITHOUT_TOOLS();
  test::ScratchDir dir;
  TrainConfig c = test::small_run(test::make_dataset(dir, 300), dir.file("run"));
  c.tensorboard = dir.file("tb");
  train(c, test::kQuiet, test::kQuiet);

  const json tb = read_back("tensorboard", dir.file("tb"));
  const auto losses = step_losses(dir.file("run"));
  const auto curves = tracking::read_jsonl(dir.file("run/curves.jsonl"));
  // Header, hparams, one per step, one per validation, the test scalars, the session end.
  EXPECT_EQ(tb["events"].get<std::size_t>(), 2 + losses.size() + curves.size() + 2);
  ASSERT_EQ(tb["scalars"]["train/loss"].size(), losses.size());
  for (const auto& point : tb["scalars"]["train/loss"]) {
    EXPECT_FLOAT_EQ(point[1].get<float>(), static_cast<float>(losses.at(point[0])));
  }
  ASSERT_EQ(tb["scalars"]["valid/accuracy"].size(), curves.size());
  for (std::size_t k = 0; k < curves.size(); ++k) {
    EXPECT_EQ(tb["scalars"]["valid/accuracy"][k][0], curves[k]["step"]);
    EXPECT_FLOAT_EQ(tb["scalars"]["valid/accuracy"][k][1].get<float>(),
                    curves[k]["valid_accuracy"].get<float>());
  }
  const json report = json::parse(test::read_file(dir.file("run/test_report.json")));
  EXPECT_FLOAT_EQ(tb["scalars"]["test/accuracy"][0][1].get<float>(),
                  report["accuracy"].get<float>());
  for (const char* tag :
       {"train/lr", "train/grad_norm", "train/loss_scale", "perf/samples_per_second",
        "perf/tokens_per_second", "valid/macro_f1", "test/macro_f1"})
    EXPECT_TRUE(tb["scalars"].contains(tag)) << tag;
  EXPECT_EQ(tb["hparams"]["hidden"], 12);
  EXPECT_EQ(tb["hparams"]["cell"], "lstm");
  EXPECT_EQ(tb["hparams"]["bidirectional"], true);
  EXPECT_EQ(tb["end_status"], 1);  // STATUS_SUCCESS
  EXPECT_NE(std::find(tb["metrics"].begin(), tb["metrics"].end(), "valid/macro_f1"),
            tb["metrics"].end());
}

// A run that died after its last checkpoint wrote points it will train again; the resumed
// run's SessionLog START makes TensorBoard keep only the new ones.
TEST(TensorBoard, AResumedRunReplacesThePointsPastItsCheckpoint) {
  SKIP_WITHOUT_TOOLS();
  test::ScratchDir dir;
  TrainConfig c = test::small_run(test::make_dataset(dir, 300), dir.file("run"));
  c.tensorboard = dir.file("tb");
  c.checkpoint_every = 4;
  c.keep_last = 0;
  const auto stop_at_6 = [](std::int64_t step) { return step == 6; };
  ASSERT_TRUE(train(c, test::kQuiet, test::kQuiet, stop_at_6).interrupted);
  const std::string last = dir.file("run/checkpoints/" + checkpoint_file_name(6));
  ASSERT_TRUE(fs::remove(last));  // as if killed after step 6
  c.resume = "auto";
  train(c, test::kQuiet, test::kQuiet);

  const json tb = read_back("tensorboard", dir.file("tb"));
  EXPECT_EQ(tb["files"], 2);
  const auto losses = step_losses(dir.file("run"));
  ASSERT_EQ(tb["scalars"]["train/loss"].size(), losses.size());
  std::int64_t expected_step = 1;
  for (const auto& point : tb["scalars"]["train/loss"]) {
    EXPECT_EQ(point[0], expected_step++);
    EXPECT_FLOAT_EQ(point[1].get<float>(), static_cast<float>(losses.at(point[0])));
  }
}

// Checks one MLflow run against the training run directory it came from.
void expect_run_matches(const json& run, const std::string& run_dir, const TrainConfig& c) {
  EXPECT_EQ(run["status"], "FINISHED");
  EXPECT_EQ(run["params"]["hidden"], std::to_string(c.hidden));
  EXPECT_EQ(run["params"]["cell"], c.cell);
  EXPECT_EQ(run["params"].size(), c.to_json().size());
  EXPECT_EQ(run["tags"]["mlflow.runName"], fs::path(run_dir).filename().string());
  EXPECT_EQ(run["tags"]["mlflow.source.name"], "engine_train");
  const auto losses = step_losses(run_dir);
  const json& history = run["metrics"]["train/loss"];
  ASSERT_EQ(history.size(), losses.size());
  for (const auto& point : history) {
    // steps.jsonl keeps 9 significant digits; MLflow gets the full double.
    EXPECT_NEAR(point[1].get<double>(), losses.at(point[0]), 1e-8 * losses.at(point[0]));
    EXPECT_GT(point[2].get<std::int64_t>(), 1'600'000'000'000);  // a timestamp in ms
  }
  const auto curves = tracking::read_jsonl(run_dir + "/curves.jsonl");
  ASSERT_EQ(run["metrics"]["valid/macro_f1"].size(), curves.size());
  for (std::size_t k = 0; k < curves.size(); ++k) {
    EXPECT_EQ(run["metrics"]["valid/macro_f1"][k][0], curves[k]["step"]);
    EXPECT_DOUBLE_EQ(run["metrics"]["valid/macro_f1"][k][1].get<double>(),
                     curves[k]["valid_macro_f1"].get<double>());
  }
  for (const char* artifact : {"config.yaml", "report.html", "test_report.json", "curves.csv",
                               "plots/loss.svg", "plots/confusion_counts.svg", "model/best.h5"}) {
    EXPECT_NE(std::find(run["artifacts"].begin(), run["artifacts"].end(), artifact),
              run["artifacts"].end())
        << artifact;
  }
}

TEST(MLflow, TheRealClientReadsTheFileStore) {
  SKIP_WITHOUT_TOOLS();
  test::ScratchDir dir;
  TrainConfig c = test::small_run(test::make_dataset(dir, 300), dir.file("run"));
  c.mlflow = "file:" + dir.file("mlruns");
  c.mlflow_experiment = "text classifiers";
  train(c, test::kQuiet, test::kQuiet);
  const json store = read_back("mlflow", "file:" + dir.file("mlruns") + " 'text classifiers'");
  ASSERT_EQ(store["runs"].size(), 1u);
  expect_run_matches(store["runs"][0], dir.file("run"), c);
}

// An interrupted run is KILLED; resuming it continues the same MLflow run to FINISHED.
TEST(MLflow, AResumedRunContinuesTheSameRun) {
  SKIP_WITHOUT_TOOLS();
  test::ScratchDir dir;
  TrainConfig c = test::small_run(test::make_dataset(dir, 300), dir.file("run"));
  c.mlflow = dir.file("mlruns");  // a plain directory is a file store too
  ASSERT_TRUE(
      train(c, test::kQuiet, test::kQuiet, [](std::int64_t s) { return s == 5; }).interrupted);
  const json stopped = read_back("mlflow", dir.file("mlruns") + " engine");
  ASSERT_EQ(stopped["runs"].size(), 1u);
  EXPECT_EQ(stopped["runs"][0]["status"], "KILLED");
  c.resume = "auto";
  train(c, test::kQuiet, test::kQuiet);
  const json finished = read_back("mlflow", dir.file("mlruns") + " engine");
  ASSERT_EQ(finished["runs"].size(), 1u);
  EXPECT_EQ(finished["runs"][0]["run_id"], stopped["runs"][0]["run_id"]);
  expect_run_matches(finished["runs"][0], dir.file("run"), c);
}

// A real tracking server on loopback (sqlite backend, artifacts proxied), logged to over REST.
class MlflowServer {
 public:
  explicit MlflowServer(const std::string& dir) {
    fs::create_directories(dir);
    const auto port = test::run_command(
        "/usr/bin/python3 -c 'import socket; s = socket.socket(); s.bind((\"127.0.0.1\", 0)); "
        "print(s.getsockname()[1])'");
    url_ = "http://127.0.0.1:" + port.output.substr(0, port.output.find('\n'));
    const auto started = test::run_command(
        ENGINE_BINARY_DIR "/pyenv/bin/mlflow server --backend-store-uri sqlite:///" + dir +
        "/mlflow.db --artifacts-destination " + dir + "/artifacts --host 127.0.0.1 --port " +
        url_.substr(url_.rfind(':') + 1) + " --workers 1 > " + dir + "/server.log 2>&1 & echo $!");
    pid_ = std::stoi(started.output);
    for (int i = 0; i < 1200 && !ready(); ++i) ::usleep(100'000);  // up to 2 minutes
  }
  ~MlflowServer() {
    test::run_command("pkill -TERM -P " + std::to_string(pid_) + "; kill " + std::to_string(pid_));
  }
  bool ready() const { return test::run_command("curl -sf " + url_ + "/health").exit_code == 0; }
  const std::string& url() const { return url_; }

 private:
  std::string url_;
  int pid_ = 0;
};

TEST(MLflow, ARealTrackingServerReceivesTheRunOverRest) {
  SKIP_WITHOUT_TOOLS();
  test::ScratchDir dir;
  MlflowServer server(dir.file("server"));
  ASSERT_TRUE(server.ready()) << test::read_file(dir.file("server/server.log"));
  TrainConfig c = test::small_run(test::make_dataset(dir, 300), dir.file("run"));
  c.mlflow = server.url();
  train(c, test::kQuiet, test::kQuiet);
  const json store = read_back("mlflow", server.url() + " engine");
  ASSERT_EQ(store["runs"].size(), 1u);
  expect_run_matches(store["runs"][0], dir.file("run"), c);
}

// engine_tune's trials are child runs of the tune's parent run.
TEST(MLflow, ATuneIsAParentRunWithATrialPerChildRun) {
  SKIP_WITHOUT_TOOLS();
  test::ScratchDir dir;
  const std::string data = test::make_dataset(dir, 300);
  test::write_file(dir.file("space.yaml"), "lr: {loguniform: [1.0e-3, 1.0e-2]}\n");
  const auto tune = test::run_command(
      std::string(ENGINE_BINARY_DIR "/engine/engine_tune --data ") + data + " --out " +
      dir.file("tune") + " --space " + dir.file("space.yaml") +
      " --searcher random --num-samples 3 --epochs 2 --embed 8 --hidden 8 --batch-size 32 "
      "--metric valid_accuracy --mlflow file:" +
      dir.file("mlruns") + " --tensorboard " + dir.file("tb") + " --quiet");
  ASSERT_EQ(tune.exit_code, 0) << tune.output;
  const json store = read_back("mlflow", "file:" + dir.file("mlruns") + " engine");
  ASSERT_EQ(store["runs"].size(), 4u);
  std::string parent;
  for (const json& run : store["runs"])
    if (!run["tags"].contains("mlflow.parentRunId")) parent = run["run_id"];
  ASSERT_FALSE(parent.empty());
  for (const json& run : store["runs"]) {
    if (run["run_id"] != parent) continue;
    EXPECT_EQ(run["status"], "FINISHED");
    EXPECT_EQ(run["params"]["searcher"], "random");
    EXPECT_EQ(run["metrics"]["trial/best_valid_accuracy"].size(), 3u);
  }
  std::set<std::string> children;
  for (const json& run : store["runs"]) {
    if (run["run_id"] == parent) continue;
    EXPECT_EQ(run["tags"]["mlflow.parentRunId"], parent);
    EXPECT_EQ(run["status"], "FINISHED");
    children.insert(run["run_name"]);
    EXPECT_EQ(run["metrics"]["valid/accuracy"].size(), 2u);  // one per epoch
  }
  EXPECT_EQ(children, (std::set<std::string>{"trial-0000", "trial-0001", "trial-0002"}));
  for (const char* trial : {"trial-0000", "trial-0001", "trial-0002"})
    EXPECT_FALSE(fs::is_empty(dir.file(std::string("tb/") + trial))) << trial;
}

// A server that is not there is a clear error before training starts.
TEST(MLflow, AnUnreachableServerIsAClearError) {
  test::ScratchDir dir;
  TrainConfig c = test::small_run(test::make_dataset(dir, 300), dir.file("run"));
  c.mlflow = "http://127.0.0.1:1";
  try {
    train(c, test::kQuiet, test::kQuiet);
    FAIL() << "no error";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("--mlflow http://127.0.0.1:1"), std::string::npos)
        << e.what();
  }
  EXPECT_FALSE(fs::exists(dir.file("run/checkpoints/" + checkpoint_file_name(1))));
}

TEST(MetricsRegistry, RendersTheExpositionFormatWithEscapedLabels) {
  tracking::MetricsRegistry r;
  r.describe("engine_step", tracking::MetricsRegistry::Type::gauge, "Steps");
  r.describe("engine_seconds_total", tracking::MetricsRegistry::Type::counter, "Seconds");
  r.describe("engine_valid_loss", tracking::MetricsRegistry::Type::gauge, "Not yet measured");
  r.set("engine_step", 42);
  r.add("engine_seconds_total", 0.5, {{"phase", "forward"}});
  r.add("engine_seconds_total", 0.25, {{"phase", "forward"}});
  r.set("engine_seconds_total", 1, {{"phase", "a\"b\\c\nd"}});
  EXPECT_EQ(r.render(),
            "# HELP engine_step Steps\n# TYPE engine_step gauge\nengine_step 42\n"
            "# HELP engine_seconds_total Seconds\n# TYPE engine_seconds_total counter\n"
            "engine_seconds_total{phase=\"a\\\"b\\\\c\\nd\"} 1\n"
            "engine_seconds_total{phase=\"forward\"} 0.75\n"
            "# HELP engine_valid_loss Not yet measured\n# TYPE engine_valid_loss gauge\n");
  EXPECT_THROW(r.set("engine_undeclared", 1), std::logic_error);
}

// Every step has its phases, inside the step and in order; validations and checkpoints show.
TEST(Timeline, HoldsEveryPhaseOfEveryStep) {
  test::ScratchDir dir;
  TrainConfig c = test::small_run(test::make_dataset(dir, 300), dir.file("run"));
  c.timeline = dir.file("trace.json");
  c.threads = 2;
  const auto outcome = train(c, test::kQuiet, test::kQuiet);
  const json trace = json::parse(test::read_file(dir.file("trace.json")));
  std::map<std::int64_t, std::map<std::string, std::pair<long long, long long>>> steps;
  std::map<std::string, int> run_events;
  for (const json& e : trace["traceEvents"]) {
    if (e["ph"] == "M") {
      if (e["name"] == "process_name") {
        EXPECT_EQ(e["args"]["name"].get<std::string>().rfind("rank 0", 0), 0u);
      }
      continue;
    }
    EXPECT_EQ(e["ph"], "X");
    EXPECT_EQ(e["pid"], 0);
    EXPECT_GE(e["dur"].get<long long>(), 0);
    const long long begin = e["ts"], end = begin + e["dur"].get<long long>();
    if (e["cat"] == "run") {
      ++run_events[e["name"]];
    } else {
      auto& phase = steps[e["args"]["step"]][e["name"]];
      // accumulation: a phase may occur more than once per step (one per micro-batch)
      phase = phase.second == 0
                  ? std::make_pair(begin, end)
                  : std::make_pair(std::min(phase.first, begin), std::max(phase.second, end));
    }
  }
  EXPECT_EQ(static_cast<std::int64_t>(steps.size()), outcome.steps);
  for (const auto& [step, phases] : steps) {
    for (const char* name : {"step", "data", "forward", "backward", "optimizer"})
      ASSERT_TRUE(phases.contains(name)) << "step " << step << " has no " << name;
    EXPECT_FALSE(phases.contains("allreduce"));  // one process: nothing to reduce
    const auto [step_begin, step_end] = phases.at("step");
    for (const char* name : {"data", "forward", "backward", "optimizer"}) {
      EXPECT_GE(phases.at(name).first, step_begin) << name << " of step " << step;
      EXPECT_LE(phases.at(name).second, step_end) << name << " of step " << step;
    }
    EXPECT_LE(phases.at("forward").second, phases.at("optimizer").first);
  }
  EXPECT_EQ(run_events["validation"], c.epochs);
  EXPECT_EQ(run_events["checkpoint"], c.epochs + 1);  // each epoch and the final one
}

}  // namespace
}  // namespace engine
