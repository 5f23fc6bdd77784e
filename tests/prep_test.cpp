#include "io/prep.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <limits>
#include <sstream>

#include "io/data_error.h"
#include "io/dataset.h"
#include "io/shard_writer.h"
#include "io/synthetic_corpus.h"
#include "io/vocab.h"
#include "test_util.h"

namespace engine::io {
namespace {

namespace fs = std::filesystem;

const auto kQuiet = [](const std::string&) {};

PrepOptions options_for(const test::ScratchDir& dir, const std::string& train) {
  PrepOptions options;
  options.train_files = {train};
  options.out_dir = dir.file("ds");
  options.valid_fraction = 0;
  return options;
}

// Tokens of one example, spelled out through the stored vocabulary.
std::vector<std::string> words_of(const DatasetInfo& info, const SplitData& split, std::size_t i) {
  const Vocab vocab = Vocab::load_hdf5(info.dir + "/vocab.h5");
  std::vector<std::string> out;
  for (const auto id : split.sequence(i)) out.push_back(vocab.token(id));
  return out;
}

TEST(Prep, ShardsRoundTripThroughTheLoaderApi) {
  test::ScratchDir dir;
  const std::string train = test::write_file(dir.file("train.csv"),
                                             "\"2\",\"Stocks Up\",\"Markets &amp; bonds rose.\"\n"
                                             "\"1\",\"Game On\",\"The team won, again!\"\n"
                                             "\"2\",\"Stocks Down\",\"Markets fell#39;s lows\"\n");
  const std::string test_csv =
      test::write_file(dir.file("test.csv"), "\"1\",\"Team\",\"won unseenword\"\n");
  auto options = options_for(dir, train);
  options.test_files = {test_csv};
  options.shards = 2;
  const PrepReport report = prepare_dataset(options, kQuiet);
  EXPECT_EQ(report.num_classes, 2);

  const DatasetInfo info = DatasetInfo::load(options.out_dir);
  EXPECT_EQ(info.class_names, (std::vector<std::string>{"1", "2"}));
  ASSERT_EQ(info.split("train").shards.size(), 2u);
  const SplitData train_data = load_split(info, "train");
  ASSERT_EQ(train_data.size(), 3u);
  EXPECT_EQ(train_data.labels, (std::vector<std::int32_t>{1, 0, 1}));
  EXPECT_EQ(words_of(info, train_data, 0),
            (std::vector<std::string>{"stocks", "up", "markets", "&", "bonds", "rose", "."}));
  EXPECT_EQ(words_of(info, train_data, 2),
            (std::vector<std::string>{"stocks", "down", "markets", "fell", "'", "s", "lows"}));
  const SplitData test_data = load_split(info, "test");
  EXPECT_EQ(words_of(info, test_data, 0), (std::vector<std::string>{"team", "won", "<unk>"}));
  EXPECT_EQ(report.splits.at("test").unknown_tokens, 1);
  EXPECT_TRUE(fs::exists(options.out_dir + "/vocab.txt"));
  EXPECT_FALSE(info.has_split("valid"));
}

TEST(Prep, ValidationSliceIsDeterministicAndDisjoint) {
  test::ScratchDir dir;
  std::ostringstream csv;
  write_synthetic_csv({.seed = 3, .classes = 3, .rows = 2000}, csv);
  const std::string train = test::write_file(dir.file("train.csv"), csv.str());
  auto options = options_for(dir, train);
  options.valid_fraction = 0.1;
  const auto first = prepare_dataset(options, kQuiet);
  options.force = true;
  options.threads = 3;  // threads must not change the result
  const std::string before = test::read_file(options.out_dir + "/manifest.json");
  prepare_dataset(options, kQuiet);
  const DatasetInfo info = DatasetInfo::load(options.out_dir);
  EXPECT_EQ(info.fingerprint(), nlohmann::json::parse(before)["fingerprint"].get<std::string>());
  const auto valid = first.splits.at("valid").examples;
  EXPECT_EQ(first.splits.at("train").examples + valid, 2000);
  EXPECT_NEAR(static_cast<double>(valid), 200.0, 45.0);
}

TEST(Prep, MaxLenMinFreqAndMaxSize) {
  test::ScratchDir dir;
  const std::string train =
      test::write_file(dir.file("train.csv"), "1,a,\"b b c c c d d d d e\"\n2,a,\"x\"\n");
  auto options = options_for(dir, train);
  options.max_len = 4;
  options.vocab = {2, 4};  // min count 2, at most 2 words
  const auto report = prepare_dataset(options, kQuiet);
  EXPECT_EQ(report.splits.at("train").truncated, 1);
  const DatasetInfo info = DatasetInfo::load(options.out_dir);
  const SplitData data = load_split(info, "train");
  EXPECT_EQ(data.length(0), 4);
  // Counts come after truncation: a=2, b=2, c=1, x=1 (d and e were cut).
  EXPECT_EQ(words_of(info, data, 0), (std::vector<std::string>{"a", "b", "b", "<unk>"}));
}

struct BadCase {
  std::string name;
  std::string csv;
  std::int64_t line;
  std::string reason;
  std::int64_t good_rows = 0;  // well-formed rows in `csv` besides the bad one
};

class PrepBadInput : public testing::TestWithParam<BadCase> {};

TEST_P(PrepBadInput, FailsNamingFileLineAndReasonAndLeavesNothing) {
  const BadCase& c = GetParam();
  test::ScratchDir dir;
  const std::string train = test::write_file(dir.file("train.csv"), "1,ok,\"fine text\"\n" + c.csv);
  auto options = options_for(dir, train);
  options.num_classes = 4;
  try {
    prepare_dataset(options, kQuiet);
    FAIL() << "expected a DataError for " << c.name;
  } catch (const DataError& e) {
    const std::string message = e.what();
    EXPECT_NE(message.find(train + ":" + std::to_string(c.line) + ":"), std::string::npos)
        << message;
    EXPECT_NE(message.find(c.reason), std::string::npos) << message;
  }
  // Neither the dataset nor any staging directory is left behind.
  for (const auto& entry : fs::directory_iterator(dir.path())) {
    EXPECT_EQ(entry.path().filename(), "train.csv") << "left behind: " << entry.path();
  }

  options.skip_bad_rows = true;
  const PrepReport report = prepare_dataset(options, kQuiet);
  std::int64_t skipped = 0;
  for (const auto n : report.bad_rows) skipped += n;
  EXPECT_EQ(skipped, 1);
  EXPECT_EQ(report.splits.at("train").examples, 1 + c.good_rows);
}

INSTANTIATE_TEST_SUITE_P(
    Reasons, PrepBadInput,
    testing::Values(BadCase{"unterminated", "2,\"title,desc\n", 2, "unterminated quoted field"},
                    BadCase{"field_count", "2,only-two\n", 2, "expected 3 fields"},
                    BadCase{"too_many", "2,a,b,c\n", 2, "expected 3 fields"},
                    BadCase{"class_text", "two,a,b\n", 2, "is not an integer"},
                    BadCase{"class_range", "5,a,b\n", 2, "outside 1..4"},
                    BadCase{"class_zero", "0,a,b\n", 2, "outside 1..4"},
                    BadCase{"utf8", "2,\"caf\xE9\",b\n", 2, "not valid UTF-8"},
                    BadCase{"empty", "2,\"&amp;nbsp;\",\" \\\\ \"\n", 2, "no text left"},
                    BadCase{"after_newlines", "3,\"multi\nline\",x\n4,\"\",\"\"\n", 4,
                            "no text left", 1}),
    [](const auto& test_case) { return test_case.param.name; });

TEST(Prep, ExistingOutputNeedsForce) {
  test::ScratchDir dir;
  const std::string train = test::write_file(dir.file("train.csv"), "1,a,b\n");
  auto options = options_for(dir, train);
  prepare_dataset(options, kQuiet);
  EXPECT_THROW(prepare_dataset(options, kQuiet), DataError);
  options.force = true;
  EXPECT_NO_THROW(prepare_dataset(options, kQuiet));
}

TEST(Prep, ClassNamesFileSetsTheClassCount) {
  test::ScratchDir dir;
  const std::string train = test::write_file(dir.file("train.csv"), "1,a,b\n3,c,d\n");
  auto options = options_for(dir, train);
  options.classes_file = test::write_file(dir.file("classes.txt"), "art\nscience\nsports\nwork\n");
  const auto report = prepare_dataset(options, kQuiet);
  EXPECT_EQ(report.num_classes, 4);
  EXPECT_EQ(DatasetInfo::load(options.out_dir).class_names.back(), "work");
}

TEST(Dataset, CorruptOrForeignShardsAreRejectedOnLoad) {
  test::ScratchDir dir;
  std::ostringstream csv;
  write_synthetic_csv({.seed = 5, .classes = 2, .rows = 300}, csv);
  auto options = options_for(dir, test::write_file(dir.file("train.csv"), csv.str()));
  prepare_dataset(options, kQuiet);
  const std::string shard = options.out_dir + "/train/shard-00000.h5";
  EXPECT_NO_THROW(load_split(DatasetInfo::load(options.out_dir), "train"));

  // A manifest that disagrees with its shard (one example fewer).
  auto manifest = nlohmann::json::parse(test::read_file(options.out_dir + "/manifest.json"));
  manifest["splits"]["train"]["shards"][0]["num_examples"] = 299;
  manifest["splits"]["train"]["num_examples"] = 299;
  EXPECT_THROW(load_split(DatasetInfo::from_json(manifest, options.out_dir), "train"), DataError);

  // A shard whose bytes were damaged (truncated file).
  const std::string bytes = test::read_file(shard);
  test::write_file(shard, bytes.substr(0, bytes.size() / 2));
  try {
    load_split(DatasetInfo::load(options.out_dir), "train");
    FAIL() << "expected a DataError";
  } catch (const DataError& e) {
    EXPECT_NE(std::string(e.what()).find(shard), std::string::npos) << e.what();
  }
  EXPECT_THROW(DatasetInfo::load(dir.file("missing")), DataError);
}

// Token chunks are shuffled and deflated by us (ISA-L) and written raw: HDF5's own filters
// (through h5py) must give back every value, here incompressible ones over several full chunks
// and a partial last one.
TEST(ShardWriter, SelfCompressedChunksReadBackThroughHdf5Filters) {
  test::ScratchDir dir;
  const std::string path = dir.file("shard.h5");
  std::int64_t weighted_sum = 0;
  std::int64_t position = 0;
  {
    ShardWriter writer(path, {"train", 0, 1, std::numeric_limits<std::int32_t>::max(), {"a", "b"}});
    std::uint64_t state = 7;
    std::vector<std::int32_t> tokens;
    while (position < static_cast<std::int64_t>(3.5 * kTokenChunk)) {
      tokens.clear();
      for (std::size_t k = 1 + state % 500; k > 0; --k) {
        state = state * 6364136223846793005ULL + 1442695040888963407ULL;
        tokens.push_back(static_cast<std::int32_t>(state >> 33));
        weighted_sum += tokens.back() * (position++ % 1000 + 1);
      }
      writer.add(tokens, 1);
    }
    writer.finish();
  }
  const auto result = test::run_command(
      "/usr/bin/python3 -c \"import h5py, numpy as np, sys; d = h5py.File(sys.argv[1])['tokens']; "
      "t = d[:].astype(np.int64); "
      "print(d.compression, d.shuffle, t.size, int((t * (np.arange(t.size) % 1000 + "
      "1)).sum()))\" " +
      path);
  ASSERT_EQ(result.exit_code, 0) << result.output;
  EXPECT_EQ(result.output,
            "gzip True " + std::to_string(position) + " " + std::to_string(weighted_sum) + "\n");
}

// The shards are plain HDF5: h5py (Debian's python3-h5py) reads the same tokens and labels.
TEST(Dataset, ReadableByH5py) {
  test::ScratchDir dir;
  std::ostringstream csv;
  write_synthetic_csv({.seed = 9, .classes = 3, .rows = 500}, csv);
  auto options = options_for(dir, test::write_file(dir.file("train.csv"), csv.str()));
  options.shards = 2;
  prepare_dataset(options, kQuiet);
  const DatasetInfo info = DatasetInfo::load(options.out_dir);
  const SplitData data = load_split(info, "train");
  const std::string script = test::write_file(
      dir.file("read.py"),
      "import h5py, json, sys\n"
      "m = json.load(open(sys.argv[1] + '/manifest.json'))\n"
      "tokens, labels, lengths = 0, [], []\n"
      "for s in m['splits']['train']['shards']:\n"
      "    f = h5py.File(sys.argv[1] + '/' + s['file'], 'r')\n"
      "    off = f['offsets'][:]\n"
      "    tokens += int(f['tokens'][:].astype('int64').sum())\n"
      "    labels += f['labels'][:].tolist()\n"
      "    lengths += (off[1:] - off[:-1]).tolist()\n"
      "    assert f.attrs['format'] == 'rnn-engine-shard'\n"
      "print(json.dumps({'token_sum': tokens, 'labels': labels, 'lengths': lengths}))\n");
  const auto result = test::run_command("/usr/bin/python3 " + script + " " + options.out_dir);
  ASSERT_EQ(result.exit_code, 0) << result.output;
  const auto read = nlohmann::json::parse(result.output);
  std::int64_t token_sum = 0;
  for (const auto t : data.tokens) token_sum += t;
  std::vector<std::int64_t> lengths;
  for (std::size_t i = 0; i < data.size(); ++i) lengths.push_back(data.length(i));
  EXPECT_EQ(read["token_sum"].get<std::int64_t>(), token_sum);
  EXPECT_EQ(read["labels"].get<std::vector<std::int32_t>>(), data.labels);
  EXPECT_EQ(read["lengths"].get<std::vector<std::int64_t>>(), lengths);
}

TEST(PrepCli, ReportsBadRowsAndExitsNonZero) {
  test::ScratchDir dir;
  const std::string train = test::write_file(dir.file("train.csv"), "1,a,b\n2,\"x\"y,z\n3,c,d\n");
  const std::string prep = ENGINE_BINARY_DIR "/engine/engine_prep";
  const auto failed = test::run_command(prep + " --train " + train + " --out " + dir.file("ds"));
  EXPECT_EQ(failed.exit_code, 1);
  EXPECT_NE(failed.output.find(train + ":2:"), std::string::npos) << failed.output;
  EXPECT_FALSE(fs::exists(dir.file("ds")));
  const auto skipped = test::run_command(prep + " --train " + train + " --out " + dir.file("ds") +
                                         " --skip-bad-rows --valid-fraction 0");
  EXPECT_EQ(skipped.exit_code, 0) << skipped.output;
  EXPECT_NE(skipped.output.find("malformed_csv"), std::string::npos) << skipped.output;
  EXPECT_TRUE(fs::exists(dir.file("ds/manifest.json")));
}

}  // namespace
}  // namespace engine::io
