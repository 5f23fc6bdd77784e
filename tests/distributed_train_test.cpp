// Data-parallel training under a real MPI launch (mpiexec -np 2 / -np 3): N ranks with
// --batch-size B/N reach the same parameters as one process with batch B (the same examples
// make up every global batch; only the order of floating-point sums differs), for LSTM and GRU.
#include <gtest/gtest.h>
#include <mpi.h>

#include <cmath>
#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>
#include <random>
#include <sstream>

#include "comm/communicator.h"
#include "comm/touched_rows.h"
#include "engine/checkpoint.h"
#include "engine/cpu_backend.h"
#include "engine/device_runner.h"
#include "engine/trainer.h"
#include "io/prep.h"
#include "io/synthetic_corpus.h"
#include "test_util.h"

namespace engine {
namespace {

const auto kQuiet = [](const std::string&) {};
comm::Communicator* world = nullptr;

std::vector<float> final_weights(const std::string& run) {
  std::vector<std::string> files;
  for (const auto& e : std::filesystem::directory_iterator(run + "/checkpoints"))
    files.push_back(e.path().string());
  std::sort(files.begin(), files.end());
  return load_checkpoint(files.back()).values;
}

class DataParallel : public testing::TestWithParam<std::string> {};

TEST_P(DataParallel, NRanksWithBatchOverNMatchOneRankWithTheWholeBatch) {
  const int ranks = world->size();
  std::unique_ptr<test::ScratchDir> scratch;
  std::string base;
  if (world->is_root()) {
    scratch = std::make_unique<test::ScratchDir>();
    base = scratch->path().string();
    std::ostringstream csv, test_csv;
    io::write_synthetic_csv({.seed = 31,
                             .classes = 3,
                             .rows = 400,
                             .vocab_words = 200,
                             .min_words = 3,
                             .max_words = 10},
                            csv);
    io::write_synthetic_csv(
        {.seed = 32, .classes = 3, .rows = 61, .vocab_words = 200, .min_words = 3, .max_words = 10},
        test_csv);
    io::PrepOptions prep;
    prep.train_files = {test::write_file(scratch->file("train.csv"), csv.str())};
    prep.test_files = {test::write_file(scratch->file("test.csv"), test_csv.str())};
    prep.out_dir = scratch->file("ds");
    prep.valid_fraction = 0.2;
    io::prepare_dataset(prep, kQuiet);
  }
  base = world->broadcast_string(base);

  TrainConfig config;
  config.data = base + "/ds";
  config.cell = GetParam();
  config.embed = 8;
  config.hidden = 10;
  config.layers = 2;
  config.bidirectional = true;
  config.epochs = 2;
  config.bucket_batches = 0;  // buckets are formed per rank; without them global batches match
  config.clip_norm = 0.5;
  config.lr = 3e-3;
  config.quiet = true;
  config.log_every = 0;

  TrainConfig parallel = config;
  parallel.out = base + "/parallel";
  parallel.batch_size = 12 / static_cast<std::size_t>(ranks);
  parallel.timeline = base + "/trace.json";
  parallel.metrics_port = 0;             // the per-rank gathering is a collective: it must not hang
  parallel.allreduce_bucket_mb = 0.001;  // 262 floats: each layer's gradients a bucket of its own
  const TrainOutcome a = train(parallel, kQuiet, kQuiet, {}, world);

  world->barrier();
  if (world->is_root()) {
    TrainConfig single = config;
    single.out = base + "/single";
    single.batch_size = 12;
    const TrainOutcome b = train(single, kQuiet, kQuiet);
    EXPECT_EQ(a.steps, b.steps);
    const auto wa = final_weights(parallel.out), wb = final_weights(single.out);
    ASSERT_EQ(wa.size(), wb.size());
    double max_diff = 0, max_value = 0;
    for (std::size_t i = 0; i < wa.size(); ++i) {
      max_diff = std::max(max_diff, static_cast<double>(std::abs(wa[i] - wb[i])));
      max_value = std::max(max_value, static_cast<double>(std::abs(wb[i])));
    }
    // Float sums in another order: 2 epochs of Adam keep the weights within 1e-4 of their scale.
    EXPECT_LE(max_diff / max_value, 1e-4) << "max difference " << max_diff;
    // Evaluation is sharded across ranks and summed: every test example counted exactly once.
    const auto report_a =
        nlohmann::json::parse(test::read_file(parallel.out + "/test_report.json"));
    const auto report_b = nlohmann::json::parse(test::read_file(single.out + "/test_report.json"));
    EXPECT_EQ(report_a["examples"].get<int>(), 61);
    EXPECT_EQ(report_a["confusion_matrix"], report_b["confusion_matrix"]);
    EXPECT_NEAR(a.best_metric, b.best_metric, 1e-6);
    // The timeline has every rank's allreduce of every step, and of each epoch's end (where
    // the ranks agree that the epoch is over).
    const auto trace = nlohmann::json::parse(test::read_file(parallel.timeline));
    std::map<int, std::int64_t> allreduces;
    for (const auto& e : trace["traceEvents"])
      if (e["name"] == "allreduce") ++allreduces[e["pid"].get<int>()];
    ASSERT_EQ(static_cast<int>(allreduces.size()), ranks);
    for (const auto& [rank, count] : allreduces)
      EXPECT_EQ(count, a.steps + a.epochs_completed) << "rank " << rank;
    // Gradients were summed in buckets during backward (classifier with the top layer, the
    // bottom layer), on every rank's communication thread; the embedding's touched rows after.
    std::map<int, std::int64_t> buckets;
    for (const auto& e : trace["traceEvents"]) {
      if (e["name"] == "allreduce bucket") {
        EXPECT_EQ(e["tid"], 1);
        ++buckets[e["pid"].get<int>()];
      }
    }
    ASSERT_EQ(static_cast<int>(buckets.size()), ranks);
    for (const auto& [rank, count] : buckets) EXPECT_EQ(count, 2 * a.steps) << "rank " << rank;
  }
  world->barrier();
}

INSTANTIATE_TEST_SUITE_P(Cells, DataParallel, testing::Values("lstm", "gru"));

// The --device cuda step's gradient reduction (DeviceRunner with a device communicator), run on
// the CPU backend where MPI can read its memory: buckets started during backward (small, so
// every layer gets its own) and the embedding summed over its touched rows give the same
// parameters as one dense allreduce through host memory, and every rank ends with the same.
TEST(DeviceRunner, BucketsStartedDuringBackwardSumAsOneAllreduce) {
  ModelConfig config;
  config.vocab_size = 2000;  // batches touch a few percent of it: the packed path
  config.embed = 6;
  config.hidden = 5;
  config.layers = 2;
  config.bidirectional = true;
  config.classes = 3;
  const auto run = [&](std::size_t bucket_floats, bool device_comm) {
    DeviceRunner runner(config, OptimizerConfig{}, make_cpu_backend(),
                        device_comm ? world->split(0, world->rank()) : nullptr);
    runner.set_bucket_floats(bucket_floats);
    runner.initialize(1);
    std::mt19937 rng(static_cast<std::uint32_t>(10 + world->rank()));  // each rank its own data
    for (int step = 0; step < 3; ++step) {
      runner.zero_grads();
      std::int64_t rows = 0;
      for (int micro = 0; micro < 2; ++micro) {
        io::Batch batch;
        batch.rows = 4;
        batch.max_len = 6;
        std::uniform_int_distribution<int> length(1, 6), token(2, 1999), label(0, 2);
        for (int r = 0; r < 4; ++r) {
          batch.lengths.push_back(length(rng));
          batch.labels.push_back(label(rng));
        }
        batch.tokens.assign(24, 0);
        for (int r = 0; r < 4; ++r)
          for (int t = 0; t < batch.lengths[static_cast<std::size_t>(r)]; ++t)
            batch.tokens[static_cast<std::size_t>(r * 6 + t)] = token(rng);
        rows +=
            runner.train_step(batch, 3, static_cast<std::uint64_t>(2 * step + micro), micro == 1)
                .rows;
      }
      std::int64_t total = rows;
      world->allreduce_sum(std::span<std::int64_t>(&total, 1));
      runner.reduce_gradients(*world);
      runner.update(total, 1.0, 0.01f);
    }
    runner.pull();
    const auto values = runner.host_model().parameters().values();
    return std::vector<float>(values.begin(), values.end());
  };
  const std::vector<float> bucketed = run(16, true), whole = run(0, true), dense = run(0, false);
  ASSERT_EQ(bucketed.size(), dense.size());
  ASSERT_EQ(whole.size(), dense.size());
  for (std::size_t i = 0; i < whole.size(); ++i) {
    ASSERT_NEAR(bucketed[i], dense[i], 1e-6f * std::max(1.0f, std::fabs(dense[i]))) << i;
    ASSERT_NEAR(whole[i], dense[i], 1e-6f * std::max(1.0f, std::fabs(dense[i]))) << i;
  }
  // Every rank holds the same model.
  std::vector<float> mean = bucketed;
  world->allreduce_sum(mean);
  for (std::size_t i = 0; i < mean.size(); ++i)
    ASSERT_NEAR(mean[i] / static_cast<float>(world->size()), bucketed[i], 1e-6f) << i;
}

// The embedding gradient's reduction over touched rows equals a dense allreduce, whether few
// rows are touched (packed) or most (dense), and the OR of bitmaps is a true OR.
TEST(TouchedRows, SumsAsADenseAllreduce) {
  std::vector<std::uint64_t> bits = {std::uint64_t{1} << world->rank(), 0};
  world->allreduce_or(bits);
  EXPECT_EQ(bits[0], (std::uint64_t{1} << world->size()) - 1);
  EXPECT_EQ(bits[1], 0u);
  constexpr std::size_t rows = 1000, width = 7;
  for (const std::size_t per_rank : {std::size_t{20}, std::size_t{900}}) {
    std::mt19937 rng(static_cast<std::uint32_t>(100 + world->rank()));
    std::uniform_int_distribution<std::size_t> pick(0, rows - 1);
    std::uniform_real_distribution<float> value(-1.0f, 1.0f);
    comm::TouchedRows touched(rows);
    std::vector<float> matrix(rows * width, 0.0f);
    for (std::size_t k = 0; k < per_rank; ++k) {
      const std::size_t row = pick(rng);
      touched.touch(row);
      for (std::size_t j = 0; j < width; ++j) matrix[row * width + j] += value(rng);
    }
    std::vector<float> dense = matrix;
    world->allreduce_sum(dense);
    const std::size_t summed = touched.allreduce_sum(*world, matrix, width);
    EXPECT_EQ(summed == rows, per_rank == 900) << summed;  // dense only when most are touched
    for (std::size_t i = 0; i < matrix.size(); ++i)
      ASSERT_NEAR(matrix[i], dense[i], 1e-6f) << per_rank << " " << i;
  }
}

TEST(Communicator, CollectivesGiveClosedFormResults) {
  const int n = world->size(), r = world->rank();
  std::vector<float> values{static_cast<float>(r), 1.0f};
  world->allreduce_sum(values);
  EXPECT_EQ(values[0], static_cast<float>(n * (n - 1) / 2));  // 0 + 1 + ... + n-1
  EXPECT_EQ(values[1], static_cast<float>(n));
  std::int64_t biggest = r;
  world->allreduce_max(std::span<std::int64_t>(&biggest, 1));
  EXPECT_EQ(biggest, n - 1);
  EXPECT_EQ(world->broadcast_string(r == 0 ? "from root" : ""), "from root");
  const auto all = world->gather("rank" + std::string(static_cast<std::size_t>(r), '*'), 0);
  if (r == 0) {
    ASSERT_EQ(static_cast<int>(all.size()), n);
    for (int k = 0; k < n; ++k)
      EXPECT_EQ(all[static_cast<std::size_t>(k)],
                "rank" + std::string(static_cast<std::size_t>(k), '*'));
  } else {
    EXPECT_TRUE(all.empty());
  }
  EXPECT_LT(world->local_rank(), n);
}

}  // namespace
}  // namespace engine

int main(int argc, char** argv) {
  auto communicator = engine::comm::make_default(&argc, &argv, /*threads_communicate=*/true);
  engine::world = communicator.get();
  testing::InitGoogleTest(&argc, argv);
  if (!communicator->is_root() && std::getenv("ENGINE_TEST_ALL_RANKS") == nullptr) {  // one report
    delete testing::UnitTest::GetInstance()->listeners().Release(
        testing::UnitTest::GetInstance()->listeners().default_result_printer());
  }
  std::int64_t failed = RUN_ALL_TESTS();
  communicator->allreduce_max(std::span<std::int64_t>(&failed, 1));
  return static_cast<int>(failed);
}
