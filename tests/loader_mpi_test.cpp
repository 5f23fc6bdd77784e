// The loader under a real MPI launch (mpiexec -np 2 / -np 3): each rank loads its stride of a
// dataset made by engine_prep, rank 0 gathers every example id used in an epoch and checks that
// each was used exactly once, and all ranks took the same number of steps.
#include <gtest/gtest.h>
#include <mpi.h>

#include <filesystem>
#include <sstream>

#include "io/dataset.h"
#include "io/loader.h"
#include "io/prep.h"
#include "io/synthetic_corpus.h"
#include "test_util.h"

namespace engine::io {
namespace {

int rank() {
  int r = 0;
  MPI_Comm_rank(MPI_COMM_WORLD, &r);
  return r;
}

int world() {
  int n = 1;
  MPI_Comm_size(MPI_COMM_WORLD, &n);
  return n;
}

TEST(LoaderMpi, EachExampleOncePerEpochAcrossRealRanks) {
  // Rank 0 prepares the dataset in a directory every rank can see.
  std::string dir_name;
  std::unique_ptr<test::ScratchDir> scratch;
  if (rank() == 0) {
    scratch = std::make_unique<test::ScratchDir>();
    std::ostringstream csv;
    write_synthetic_csv({.seed = 21, .classes = 4, .rows = 1001}, csv);
    PrepOptions options;
    options.train_files = {test::write_file(scratch->file("train.csv"), csv.str())};
    options.out_dir = scratch->file("ds");
    options.shards = 3;
    prepare_dataset(options, [](const std::string&) {});
    dir_name = options.out_dir;
  }
  int name_length = static_cast<int>(dir_name.size());
  MPI_Bcast(&name_length, 1, MPI_INT, 0, MPI_COMM_WORLD);
  dir_name.resize(static_cast<std::size_t>(name_length));
  MPI_Bcast(dir_name.data(), name_length, MPI_CHAR, 0, MPI_COMM_WORLD);

  const DatasetInfo info = DatasetInfo::load(dir_name);
  const auto data = std::make_shared<const SplitData>(load_split(info, "train"));
  BatchLoader loader(
      data,
      {.batch_size = 16, .seed = 4, .rank = rank(), .world_size = world(), .bucket_batches = 5});
  for (int epoch = 0; epoch < 2; ++epoch) {
    std::vector<std::int64_t> mine;
    std::int64_t steps = 0;
    Batch batch;
    while (loader.next(batch)) {
      ++steps;
      mine.insert(mine.end(), batch.example_ids.begin(), batch.example_ids.end());
    }
    std::int64_t min_steps = 0, max_steps = 0;
    MPI_Allreduce(&steps, &min_steps, 1, MPI_INT64_T, MPI_MIN, MPI_COMM_WORLD);
    MPI_Allreduce(&steps, &max_steps, 1, MPI_INT64_T, MPI_MAX, MPI_COMM_WORLD);
    EXPECT_EQ(min_steps, max_steps);

    int count = static_cast<int>(mine.size());
    std::vector<int> counts(static_cast<std::size_t>(world()));
    MPI_Gather(&count, 1, MPI_INT, counts.data(), 1, MPI_INT, 0, MPI_COMM_WORLD);
    std::vector<int> displacements(counts.size());
    int total = 0;
    for (std::size_t r = 0; r < counts.size(); ++r) {
      displacements[r] = total;
      total += counts[r];
    }
    std::vector<std::int64_t> all(static_cast<std::size_t>(rank() == 0 ? total : 0));
    MPI_Gatherv(mine.data(), count, MPI_INT64_T, all.data(), counts.data(), displacements.data(),
                MPI_INT64_T, 0, MPI_COMM_WORLD);
    if (rank() == 0) {
      ASSERT_EQ(all.size(), data->size());
      std::vector<int> uses(data->size());
      for (const auto id : all) ++uses[static_cast<std::size_t>(id)];
      for (std::size_t i = 0; i < uses.size(); ++i) ASSERT_EQ(uses[i], 1) << "example " << i;
    }
  }
  MPI_Barrier(MPI_COMM_WORLD);  // rank 0 removes the dataset only after everyone is done
}

}  // namespace
}  // namespace engine::io

int main(int argc, char** argv) {
  MPI_Init(&argc, &argv);
  testing::InitGoogleTest(&argc, argv);
  if (engine::io::rank() != 0) {  // one report, from rank 0
    delete testing::UnitTest::GetInstance()->listeners().Release(
        testing::UnitTest::GetInstance()->listeners().default_result_printer());
  }
  int failed = RUN_ALL_TESTS();
  int any_failed = 0;
  MPI_Allreduce(&failed, &any_failed, 1, MPI_INT, MPI_MAX, MPI_COMM_WORLD);
  MPI_Finalize();
  return any_failed;
}
