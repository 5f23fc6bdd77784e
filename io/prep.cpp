#include "io/prep.h"

#include <unistd.h>

#include <chrono>
#include <deque>
#include <filesystem>
#include <fstream>
#include <future>
#include <memory>
#include <nlohmann/json.hpp>

#include "io/csv_reader.h"
#include "io/data_error.h"
#include "io/dataset.h"
#include "io/dataset_format.h"
#include "io/shard_writer.h"
#include "io/token_spool.h"
#include "io/word_table.h"

namespace engine::io {

namespace fs = std::filesystem;

bool in_validation_slice(std::uint64_t ordinal, double fraction, std::uint64_t seed) {
  // splitmix64 finaliser: a well-mixed 64-bit hash of (seed, ordinal).
  std::uint64_t z = ordinal + 0x9e3779b97f4a7c15ULL * (seed + 1);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  z ^= z >> 31;
  return static_cast<double>(z >> 11) * 0x1.0p-53 < fraction;
}

namespace {

constexpr std::size_t kRowsPerBatch = 2048;
enum Split { kTrain = 0, kValid = 1, kTest = 2 };
constexpr const char* kSplitNames[3] = {"train", "valid", "test"};

// Removes the temporary output directory unless the pipeline got to the final rename.
class TempDir {
 public:
  explicit TempDir(fs::path path) : path_(std::move(path)) { fs::create_directories(path_); }
  ~TempDir() {
    std::error_code ignored;
    if (!path_.empty()) fs::remove_all(path_, ignored);
  }
  const fs::path& path() const { return path_; }
  void release() { path_.clear(); }

 private:
  fs::path path_;
};

// A block of rows on its way through pass 1: read (main thread), parsed (worker), consumed
// (main thread). Blocks are recycled, so their strings keep their capacity across rows.
struct RowBatch {
  std::vector<CsvRecord> records{kRowsPerBatch};
  std::vector<std::string> malformed{kRowsPerBatch};  // the CSV error, empty when well-formed
  std::vector<ParsedRow> rows{kRowsPerBatch};
  std::size_t size = 0;
};

void parse_batch(RowBatch& batch, std::int64_t num_classes, std::size_t max_len) {
  RowParser parser(num_classes, max_len);
  for (std::size_t i = 0; i < batch.size; ++i) {
    ParsedRow& row = batch.rows[i];
    if (!batch.malformed[i].empty()) {
      row.line = batch.records[i].line;
      row.bad = BadRow::kMalformedCsv;
      row.message = batch.malformed[i];
    } else {
      parser.parse(batch.records[i], row);
    }
  }
}

std::vector<std::string> read_class_names(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw DataError(path + ": cannot open class names file");
  std::vector<std::string> names;
  std::string line;
  while (std::getline(in, line)) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.empty())
      throw DataError(
          located(path, static_cast<std::int64_t>(names.size()) + 1, "empty class name"));
    names.push_back(line);
  }
  if (names.empty()) throw DataError(path + ": no class names");
  return names;
}

class Pipeline {
 public:
  Pipeline(const PrepOptions& options, const std::function<void(const std::string&)>& log,
           const fs::path& work_dir)
      : options_(options), log_(log), work_dir_(work_dir) {
    for (int s = 0; s < 3; ++s) {
      spools_[s] = std::make_unique<SpoolWriter>(
          (work_dir_ / (std::string(kSplitNames[s]) + ".spool")).string());
    }
  }

  // Pass 1 over one file. With threads > 1, up to `threads` blocks are parsed concurrently
  // while this thread reads ahead and consumes finished blocks in order.
  void scan(const std::string& path, Split split, std::int64_t num_classes) {
    const auto start = std::chrono::steady_clock::now();
    CsvReader reader(path);
    const std::size_t max_in_flight = static_cast<std::size_t>(std::max(options_.threads, 1));
    const std::size_t max_len = options_.max_len;
    const std::int64_t rows_before = rows_seen_;
    std::vector<std::unique_ptr<RowBatch>> spare;
    std::deque<std::pair<std::future<void>, std::unique_ptr<RowBatch>>> in_flight;
    const auto finish_oldest = [&] {
      in_flight.front().first.get();
      consume(path, split, *in_flight.front().second);
      spare.push_back(std::move(in_flight.front().second));
      in_flight.pop_front();
    };
    while (true) {
      std::unique_ptr<RowBatch> batch;
      if (spare.empty()) {
        batch = std::make_unique<RowBatch>();
      } else {
        batch = std::move(spare.back());
        spare.pop_back();
      }
      read_batch(reader, *batch);
      if (batch->size == 0) break;
      if (options_.threads <= 1) {
        parse_batch(*batch, num_classes, max_len);
        consume(path, split, *batch);
        spare.push_back(std::move(batch));
        continue;
      }
      RowBatch* raw = batch.get();
      in_flight.emplace_back(
          std::async(std::launch::async,
                     [raw, num_classes, max_len] { parse_batch(*raw, num_classes, max_len); }),
          std::move(batch));
      if (in_flight.size() >= max_in_flight) finish_oldest();
    }
    while (!in_flight.empty()) finish_oldest();
    input_bytes_ += reader.bytes_read();
    const double seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    log_("[data] read " + path + ": " + std::to_string(rows_seen_ - rows_before) + " rows, " +
         std::to_string(reader.bytes_read() >> 20) + " MiB in " + format_seconds(seconds));
  }

  std::int64_t max_train_label() const { return max_train_label_; }
  std::uint64_t input_bytes() const { return input_bytes_; }
  PrepReport& report() { return report_; }
  const WordTable& words() const { return words_; }
  SpoolWriter& spool(int split) { return *spools_[split]; }

 private:
  static std::string format_seconds(double s) {
    char text[32];
    std::snprintf(text, sizeof text, "%.2f s", s);
    return text;
  }

  void read_batch(CsvReader& reader, RowBatch& batch) {
    batch.size = 0;
    std::string error;
    while (batch.size < kRowsPerBatch) {
      std::string& malformed = batch.malformed[batch.size];
      malformed.clear();
      const CsvStatus status = reader.next(batch.records[batch.size], error);
      if (status == CsvStatus::kEnd) break;
      if (status == CsvStatus::kMalformed) malformed = error.empty() ? "malformed CSV" : error;
      ++batch.size;
    }
  }

  void consume(const std::string& path, Split split, const RowBatch& batch) {
    for (std::size_t r = 0; r < batch.size; ++r) {
      const ParsedRow& row = batch.rows[r];
      const std::uint64_t ordinal = static_cast<std::uint64_t>(rows_seen_++);
      if (row.bad != BadRow::kNone) {
        if (!options_.skip_bad_rows) {
          throw DataError(located(path, row.line, row.message) + " [" +
                          std::string(bad_row_name(row.bad)) +
                          "] (use --skip-bad-rows to skip such rows)");
        }
        ++report_.bad_rows[static_cast<int>(row.bad)];
        continue;
      }
      Split target = split;
      if (split == kTrain && options_.valid_files.empty() &&
          in_validation_slice(ordinal, options_.valid_fraction, options_.split_seed)) {
        target = kValid;
      }
      ids_.clear();
      words_.intern_all(row.tokens, target == kTrain, ids_);
      if (target == kTrain)
        max_train_label_ = std::max(max_train_label_, static_cast<std::int64_t>(row.label));
      if (row.tokens.truncated) ++report_.splits[kSplitNames[target]].truncated;
      spools_[target]->add(row.label, ids_);
    }
  }

  const PrepOptions& options_;
  const std::function<void(const std::string&)>& log_;
  fs::path work_dir_;
  std::unique_ptr<SpoolWriter> spools_[3];
  WordTable words_;
  std::vector<std::int32_t> ids_;
  std::int64_t rows_seen_ = 0;
  std::int64_t max_train_label_ = -1;
  std::uint64_t input_bytes_ = 0;
  PrepReport report_;
};

void validate_options(const PrepOptions& options) {
  if (options.train_files.empty())
    throw DataError("--train: at least one training CSV is required");
  if (options.out_dir.empty()) throw DataError("--out: an output directory is required");
  if (options.shards < 1) throw DataError("--shards must be at least 1");
  if (options.valid_fraction < 0 || options.valid_fraction >= 1) {
    throw DataError("--valid-fraction must be in [0, 1)");
  }
  if (options.vocab.min_freq < 1) throw DataError("--min-freq must be at least 1");
  if (options.vocab.max_size != 0 && options.vocab.max_size < 3) {
    throw DataError("--max-size must be 0 (no limit) or at least 3 (2 specials + 1 word)");
  }
  for (const auto* files : {&options.train_files, &options.valid_files, &options.test_files}) {
    for (const auto& f : *files) {
      if (!fs::is_regular_file(f)) throw DataError(f + ": no such file");
    }
  }
}

// Writes one split's spool as shards with final ids; returns its manifest entry.
SplitInfo write_split(const std::string& name, const std::string& spool_path, std::int64_t examples,
                      const std::vector<std::int32_t>& remap, const fs::path& dir,
                      std::int64_t wanted_shards, const Vocab& vocab,
                      const std::vector<std::string>& class_names, SplitCounts& counts) {
  SplitInfo info{name, 0, 0, {}};
  const std::int64_t num_shards = std::min(wanted_shards, examples);
  fs::create_directories(dir / name);
  SpoolReader reader(spool_path);
  std::int32_t label = 0;
  std::vector<std::int32_t> ids;
  for (std::int64_t s = 0; s < num_shards; ++s) {
    // Contiguous, balanced ranges: shard s holds examples [s*n/N, (s+1)*n/N).
    const std::int64_t end = (s + 1) * examples / num_shards;
    const std::string file = shard_file_name(name, static_cast<std::size_t>(s));
    ShardWriter writer((dir / file).string(), {name, s, num_shards, vocab.size(), class_names});
    for (std::int64_t i = s * examples / num_shards; i < end; ++i) {
      if (!reader.next(label, ids)) throw DataError(spool_path + ": spool ended early");
      for (auto& id : ids) {
        id = remap[static_cast<std::size_t>(id)];
        if (id == Vocab::kUnkId) ++counts.unknown_tokens;
      }
      writer.add(ids, label);
    }
    const ShardSummary summary = writer.finish();
    info.shards.push_back(
        {file, summary.num_examples, summary.num_tokens, checksum_hex(summary.checksum)});
    info.num_examples += summary.num_examples;
    info.num_tokens += summary.num_tokens;
  }
  counts.examples = info.num_examples;
  counts.tokens = info.num_tokens;
  return info;
}

nlohmann::json describe_prep(const PrepOptions& options, const PrepReport& report) {
  nlohmann::json bad = nlohmann::json::object();
  for (int k = 1; k < kBadRowKinds; ++k) {
    if (report.bad_rows[k] > 0)
      bad[std::string(bad_row_name(static_cast<BadRow>(k)))] = report.bad_rows[k];
  }
  const auto absolute = [](const std::vector<std::string>& files) {
    std::vector<std::string> out;
    for (const auto& f : files) out.push_back(fs::absolute(f).string());
    return out;
  };
  return {{"train_files", absolute(options.train_files)},
          {"valid_files", absolute(options.valid_files)},
          {"test_files", absolute(options.test_files)},
          {"valid_fraction", options.valid_files.empty() ? options.valid_fraction : 0.0},
          {"split_seed", options.split_seed},
          {"min_freq", options.vocab.min_freq},
          {"max_size", options.vocab.max_size},
          {"max_len", options.max_len},
          {"tokenizer", "basic_english"},
          {"skip_bad_rows", options.skip_bad_rows},
          {"bad_rows", bad},
          {"distinct_words", report.distinct_words},
          {"input_bytes", report.input_bytes}};
}

void replace_output(const fs::path& staged, const fs::path& out, bool force) {
  if (fs::exists(out)) {
    if (!force) throw DataError(out.string() + ": already exists (use --force to replace it)");
    const fs::path old = out.string() + ".old." + std::to_string(::getpid());
    fs::rename(out, old);
    fs::rename(staged, out);
    fs::remove_all(old);
  } else {
    fs::rename(staged, out);
  }
}

}  // namespace

PrepReport prepare_dataset(const PrepOptions& options,
                           const std::function<void(const std::string&)>& log) {
  const auto start = std::chrono::steady_clock::now();
  validate_options(options);
  std::vector<std::string> class_names;
  std::int64_t num_classes = options.num_classes;
  if (!options.classes_file.empty()) {
    class_names = read_class_names(options.classes_file);
    if (num_classes != 0 && num_classes != static_cast<std::int64_t>(class_names.size())) {
      throw DataError(options.classes_file + ": names " + std::to_string(class_names.size()) +
                      " classes but --num-classes is " + std::to_string(num_classes));
    }
    num_classes = static_cast<std::int64_t>(class_names.size());
  }

  const fs::path out = fs::absolute(options.out_dir).lexically_normal();
  if (fs::exists(out) && !options.force) {
    throw DataError(out.string() + ": already exists (use --force to replace it)");
  }
  fs::create_directories(out.parent_path());
  TempDir staging(out.string() + ".tmp." + std::to_string(::getpid()));
  Pipeline pipeline(options, log, staging.path());

  for (const auto& f : options.train_files) pipeline.scan(f, kTrain, num_classes);
  if (num_classes == 0) num_classes = pipeline.max_train_label() + 1;
  if (num_classes < 1) throw DataError("no usable training rows in " + options.train_files.front());
  if (class_names.empty()) {
    for (std::int64_t k = 1; k <= num_classes; ++k) class_names.push_back(std::to_string(k));
  }
  for (const auto& f : options.valid_files) pipeline.scan(f, kValid, num_classes);
  for (const auto& f : options.test_files) pipeline.scan(f, kTest, num_classes);

  PrepReport& report = pipeline.report();
  report.input_bytes = pipeline.input_bytes();
  report.distinct_words = static_cast<std::int64_t>(pipeline.words().size());
  report.num_classes = num_classes;
  std::vector<std::int64_t> spooled(3);
  for (int s = 0; s < 3; ++s) {
    spooled[s] = pipeline.spool(s).records();
    pipeline.spool(s).close();
  }
  if (spooled[kTrain] == 0) throw DataError("the training split is empty after reading the input");

  std::vector<std::int32_t> remap;
  const Vocab vocab = pipeline.words().build_vocab(options.vocab, remap);
  report.vocab_size = vocab.size();
  log("[data] vocabulary: " + std::to_string(vocab.size()) + " tokens (of " +
      std::to_string(report.distinct_words) + " distinct words), " + std::to_string(num_classes) +
      " classes");

  DatasetInfo info;
  info.dir = out.string();
  info.vocab_size = vocab.size();
  info.class_names = class_names;
  for (int s = 0; s < 3; ++s) {
    const std::string spool_path =
        (staging.path() / (std::string(kSplitNames[s]) + ".spool")).string();
    if (spooled[s] > 0) {
      info.splits.push_back(write_split(kSplitNames[s], spool_path, spooled[s], remap,
                                        staging.path(), options.shards, vocab, class_names,
                                        report.splits[kSplitNames[s]]));
    } else if (s == kValid && (options.valid_fraction > 0 || !options.valid_files.empty())) {
      log("[data] warning: the validation split is empty");
    }
    fs::remove(spool_path);
  }
  vocab.save_hdf5((staging.path() / "vocab.h5").string());
  vocab.save_text((staging.path() / "vocab.txt").string());
  info.prep = describe_prep(options, report);
  {
    std::ofstream manifest(staging.path() / "manifest.json");
    manifest << info.to_json().dump(2) << '\n';
    if (!manifest) throw DataError((staging.path() / "manifest.json").string() + ": cannot write");
  }
  replace_output(staging.path(), out, options.force);
  staging.release();
  report.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return report;
}

}  // namespace engine::io
