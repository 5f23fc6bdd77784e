#include "io/loader.h"

#include <gtest/gtest.h>

#include <map>
#include <set>

namespace engine::io {
namespace {

// n examples of lengths 1..max_len (cycling), token ids encode (example, position).
std::shared_ptr<const SplitData> make_split(std::size_t n, std::int64_t max_len = 17) {
  auto data = std::make_shared<SplitData>();
  data->offsets.push_back(0);
  for (std::size_t i = 0; i < n; ++i) {
    const std::int64_t length =
        1 + static_cast<std::int64_t>((i * 7) % static_cast<std::size_t>(max_len));
    for (std::int64_t t = 0; t < length; ++t)
      data->tokens.push_back(static_cast<std::int32_t>(2 + i));
    data->offsets.push_back(static_cast<std::int64_t>(data->tokens.size()));
    data->labels.push_back(static_cast<std::int32_t>(i % 4));
  }
  return data;
}

std::vector<Batch> one_epoch(BatchLoader& loader) {
  std::vector<Batch> batches;
  Batch batch;
  while (loader.next(batch)) batches.push_back(batch);
  return batches;
}

TEST(Loader, BatchesArePaddedAndConsistentWithTheData) {
  const auto data = make_split(50);
  BatchLoader loader(data, {.batch_size = 8, .seed = 1});
  for (const Batch& b : one_epoch(loader)) {
    for (std::size_t r = 0; r < b.rows; ++r) {
      const auto id = static_cast<std::size_t>(b.example_ids[r]);
      EXPECT_EQ(b.lengths[r], data->length(id));
      EXPECT_EQ(b.labels[r], data->labels[id]);
      for (std::size_t t = 0; t < b.max_len; ++t) {
        const std::int32_t expected =
            t < static_cast<std::size_t>(b.lengths[r]) ? static_cast<std::int32_t>(2 + id) : 0;
        ASSERT_EQ(b.tokens[r * b.max_len + t], expected);
      }
    }
  }
}

TEST(Loader, SameSeedSameOrderOtherSeedOrEpochOther) {
  const auto data = make_split(200);
  auto ids = [&](std::uint64_t seed, int epochs) {
    BatchLoader loader(data, {.batch_size = 16, .seed = seed});
    std::vector<std::int64_t> out;
    for (int e = 0; e < epochs; ++e) {
      out.clear();
      for (const Batch& b : one_epoch(loader))
        out.insert(out.end(), b.example_ids.begin(), b.example_ids.end());
    }
    return out;
  };
  EXPECT_EQ(ids(7, 1), ids(7, 1));
  EXPECT_NE(ids(7, 1), ids(8, 1));
  EXPECT_NE(ids(7, 1), ids(7, 2));  // each epoch is shuffled anew
}

class LoaderCoverage : public testing::TestWithParam<std::tuple<int, std::size_t, std::size_t>> {};

// Across N ranks every example is used exactly once per epoch, and every rank takes the same
// number of steps (with buckets too), for sizes that do and do not divide evenly.
TEST_P(LoaderCoverage, EachExampleExactlyOncePerEpochAcrossRanks) {
  const auto [world, n, bucket] = GetParam();
  const auto data = make_split(n);
  for (int epoch = 0; epoch < 2; ++epoch) {
    std::map<std::int64_t, int> seen;
    std::set<std::int64_t> steps;
    for (int rank = 0; rank < world; ++rank) {
      BatchLoader loader(data, {.batch_size = 6,
                                .seed = 11,
                                .rank = rank,
                                .world_size = world,
                                .bucket_batches = bucket});
      loader.restore({.seed = 11,
                      .epoch = epoch,
                      .rank = rank,
                      .world_size = world,
                      .batch_size = 6,
                      .bucket_batches = static_cast<std::int64_t>(bucket)});
      const auto batches = one_epoch(loader);
      steps.insert(static_cast<std::int64_t>(batches.size()));
      EXPECT_EQ(static_cast<std::int64_t>(batches.size()), loader.steps_per_epoch());
      for (const Batch& b : batches) {
        for (const auto id : b.example_ids) ++seen[id];
      }
    }
    EXPECT_EQ(steps.size(), 1u) << "ranks disagree on steps per epoch";
    ASSERT_EQ(seen.size(), n);
    for (const auto& [id, count] : seen) ASSERT_EQ(count, 1) << "example " << id;
  }
}

INSTANTIATE_TEST_SUITE_P(Ranks, LoaderCoverage,
                         testing::Combine(testing::Values(1, 2, 3), testing::Values(97u, 120u, 13u),
                                          testing::Values(0u, 4u)));

TEST(Loader, BucketingCutsPadding) {
  const auto data = make_split(2000, 64);
  auto padding = [&](std::size_t bucket) {
    BatchLoader loader(data, {.batch_size = 32, .seed = 3, .bucket_batches = bucket});
    std::size_t pad = 0;
    for (const Batch& b : one_epoch(loader)) {
      for (std::size_t r = 0; r < b.rows; ++r)
        pad += b.max_len - static_cast<std::size_t>(b.lengths[r]);
    }
    return pad;
  };
  EXPECT_LT(padding(20) * 4, padding(0));
}

TEST(Loader, RestoredPositionContinuesExactly) {
  const auto data = make_split(300);
  const LoaderOptions options{.batch_size = 7, .seed = 5, .bucket_batches = 3, .prefetch = 3};
  BatchLoader straight(data, options);
  std::vector<Batch> reference;
  Batch batch;
  for (int e = 0; e < 3; ++e) {
    while (straight.next(batch)) reference.push_back(batch);
  }

  BatchLoader first(data, options);
  std::size_t consumed = 0;
  while (consumed < 60) {  // into the second epoch
    if (first.next(batch)) ++consumed;
  }
  const LoaderPosition saved = first.position();
  EXPECT_EQ(saved.epoch, 1);

  BatchLoader resumed(data, options);
  resumed.restore(saved);
  for (std::size_t k = consumed; k < reference.size();) {
    if (!resumed.next(batch)) continue;
    ASSERT_EQ(batch.example_ids, reference[k].example_ids) << "batch " << k;
    ASSERT_EQ(batch.tokens, reference[k].tokens);
    ++k;
  }
}

TEST(Loader, PrefetchDoesNotChangeBatches) {
  const auto data = make_split(150);
  BatchLoader with(data, {.batch_size = 9, .seed = 2, .prefetch = 4});
  BatchLoader without(data, {.batch_size = 9, .seed = 2, .prefetch = 0});
  for (int e = 0; e < 2; ++e) {
    const auto a = one_epoch(with);
    const auto b = one_epoch(without);
    ASSERT_EQ(a.size(), b.size());
    for (std::size_t i = 0; i < a.size(); ++i) EXPECT_EQ(a[i].example_ids, b[i].example_ids);
  }
}

TEST(Loader, ShortRanksGetAnEmptyLastBatch) {
  const auto data = make_split(9);
  BatchLoader rank0(data, {.batch_size = 4, .rank = 0, .world_size = 2});
  BatchLoader rank1(data, {.batch_size = 4, .rank = 1, .world_size = 2});
  const auto a = one_epoch(rank0);
  const auto b = one_epoch(rank1);
  ASSERT_EQ(a.size(), 2u);
  ASSERT_EQ(b.size(), 2u);
  EXPECT_EQ(a[1].rows, 1u);  // 5 examples: 4 + 1
  EXPECT_EQ(b[1].rows, 0u);  // 4 examples: 4 + nothing
  EXPECT_TRUE(b[1].tokens.empty());
}

TEST(Loader, RejectsBadSetups) {
  const auto data = make_split(2);
  EXPECT_THROW(BatchLoader(data, {.batch_size = 0}), std::invalid_argument);
  EXPECT_THROW(BatchLoader(data, {.batch_size = 1, .rank = 0, .world_size = 3}),
               std::invalid_argument);
  BatchLoader loader(data, {.batch_size = 1, .seed = 1});
  EXPECT_THROW(loader.restore({.seed = 2}), std::invalid_argument);  // other seed
  EXPECT_THROW(loader.restore({.seed = 1, .step = 5, .batch_size = 1}),
               std::invalid_argument);  // past the epoch
}

}  // namespace
}  // namespace engine::io

namespace engine::io {
namespace {

// Resuming on another number of ranks (and another batch size): within the interrupted epoch
// every example is used exactly once across the old and the new ranks; the next epoch is whole.
class LoaderReshape : public testing::TestWithParam<std::tuple<int, int, std::size_t>> {};

TEST_P(LoaderReshape, NoExampleSkippedOrRepeatedWithinTheEpoch) {
  const auto [old_world, new_world, bucket] = GetParam();
  const auto data = make_split(101);
  std::map<std::int64_t, int> uses;
  std::vector<LoaderPosition> saved;
  for (int rank = 0; rank < old_world; ++rank) {
    BatchLoader loader(data, {.batch_size = 4,
                              .seed = 3,
                              .rank = rank,
                              .world_size = old_world,
                              .bucket_batches = bucket});
    Batch batch;
    for (int b = 0; b < 5; ++b) {
      ASSERT_TRUE(loader.next(batch));
      for (const auto id : batch.example_ids) ++uses[id];
    }
    saved.push_back(loader.position());
  }
  std::set<std::int64_t> steps;
  for (int rank = 0; rank < new_world; ++rank) {
    BatchLoader loader(data, {.batch_size = 3,
                              .seed = 3,
                              .rank = rank,
                              .world_size = new_world,
                              .bucket_batches = bucket});
    LoaderPosition position = saved.front();
    position.rank = rank;
    loader.restore(position);
    Batch batch;
    std::int64_t count = 0;
    while (loader.next(batch)) {
      ++count;
      for (const auto id : batch.example_ids) ++uses[id];
    }
    steps.insert(count);
    // The following epoch is a whole one for the new shape.
    std::int64_t next_epoch = 0;
    while (loader.next(batch)) next_epoch += static_cast<std::int64_t>(batch.rows);
    if (rank == 0) {
      EXPECT_GE(next_epoch, 101 / new_world);
    }
  }
  EXPECT_EQ(steps.size(), 1u) << "new ranks disagree on the steps left";
  ASSERT_EQ(uses.size(), 101u);
  for (const auto& [id, count] : uses) ASSERT_EQ(count, 1) << "example " << id;
}

INSTANTIATE_TEST_SUITE_P(Ranks, LoaderReshape,
                         testing::Combine(testing::Values(1, 2, 3), testing::Values(1, 2, 3),
                                          testing::Values(0u, 3u)));

TEST(Loader, PositionAfterAReshapeRestoresExactly) {
  const auto data = make_split(60);
  BatchLoader two(data, {.batch_size = 4, .seed = 8, .rank = 0, .world_size = 2});
  Batch batch;
  for (int b = 0; b < 3; ++b) two.next(batch);
  BatchLoader three(data, {.batch_size = 4, .seed = 8, .rank = 1, .world_size = 3});
  LoaderPosition p = two.position();
  p.rank = 1;
  three.restore(p);
  three.next(batch);
  const LoaderPosition mid = three.position();  // carries the excluded examples
  EXPECT_EQ(mid.excluded.size(), 24u);
  std::vector<std::int64_t> rest_a, rest_b;
  while (three.next(batch))
    rest_a.insert(rest_a.end(), batch.example_ids.begin(), batch.example_ids.end());
  BatchLoader again(data, {.batch_size = 4, .seed = 8, .rank = 1, .world_size = 3});
  again.restore(mid);
  while (again.next(batch))
    rest_b.insert(rest_b.end(), batch.example_ids.begin(), batch.example_ids.end());
  EXPECT_EQ(rest_a, rest_b);
}

}  // namespace
}  // namespace engine::io
