// engine_prep: CSV files in AG News layout -> a dataset directory of HDF5 shards.
// See io/prep.h for the pipeline and io/dataset_format.h for what it writes.
#include <spdlog/spdlog.h>

#include <CLI/CLI.hpp>
#include <cstdio>
#include <exception>

#include "io/data_error.h"
#include "io/prep.h"

namespace {

void print_summary(const engine::io::PrepReport& report, bool skipped_bad_rows) {
  std::printf("%-6s %12s %14s %9s %9s %10s\n", "split", "examples", "tokens", "mean_len", "unk_%",
              "truncated");
  for (const std::string name : {"train", "valid", "test"}) {
    const auto found = report.splits.find(name);
    if (found == report.splits.end() || found->second.examples == 0) continue;
    const auto& counts = found->second;
    std::printf(
        "%-6s %12lld %14lld %9.1f %9.2f %10lld\n", name.c_str(),
        static_cast<long long>(counts.examples), static_cast<long long>(counts.tokens),
        static_cast<double>(counts.tokens) / static_cast<double>(counts.examples),
        100.0 * static_cast<double>(counts.unknown_tokens) / static_cast<double>(counts.tokens),
        static_cast<long long>(counts.truncated));
  }
  std::printf("vocabulary %lld tokens (of %lld distinct words), %lld classes\n",
              static_cast<long long>(report.vocab_size),
              static_cast<long long>(report.distinct_words),
              static_cast<long long>(report.num_classes));
  if (skipped_bad_rows) {
    std::int64_t total = 0;
    for (int k = 1; k < engine::io::kBadRowKinds; ++k) total += report.bad_rows[k];
    std::printf("skipped bad rows: %lld\n", static_cast<long long>(total));
    for (int k = 1; k < engine::io::kBadRowKinds; ++k) {
      if (report.bad_rows[k] == 0) continue;
      std::printf("  %-20s %lld\n",
                  std::string(engine::io::bad_row_name(static_cast<engine::io::BadRow>(k))).c_str(),
                  static_cast<long long>(report.bad_rows[k]));
    }
  }
  const double mib = static_cast<double>(report.input_bytes) / (1 << 20);
  std::printf("read %.1f MiB in %.2f s (%.1f MiB/s)\n", mib, report.seconds,
              report.seconds > 0 ? mib / report.seconds : 0.0);
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{
      "Prepare a text-classification dataset: read CSV files in AG News layout\n"
      "(\"class\",\"title\",\"description\"; class is 1..K), clean and tokenize the text\n"
      "(torchtext basic_english rules), build a vocabulary from the training split and write\n"
      "HDF5 shards that engine_train reads."};
  app.get_formatter()->column_width(34);
  engine::io::PrepOptions options;
  bool quiet = false;
  app.add_option("--train", options.train_files, "Training CSV file(s)")
      ->required()
      ->check(CLI::ExistingFile);
  app.add_option("--valid", options.valid_files,
                 "Validation CSV file(s); without it a slice of train is used")
      ->check(CLI::ExistingFile);
  app.add_option("--test", options.test_files, "Test CSV file(s)")->check(CLI::ExistingFile);
  app.add_option(
         "--valid-fraction", options.valid_fraction,
         "Share of training rows moved to validation when --valid is not given (deterministic)")
      ->capture_default_str()
      ->check(CLI::Range(0.0, 0.99));
  app.add_option("--split-seed", options.split_seed, "Seed choosing the validation slice")
      ->capture_default_str();
  app.add_option("--out", options.out_dir, "Output dataset directory (written atomically)")
      ->required();
  app.add_flag("--force", options.force, "Replace --out if it exists");
  app.add_option("--shards", options.shards, "HDF5 shards per split")
      ->capture_default_str()
      ->check(CLI::Range(1, 100000));
  app.add_option("--min-freq", options.vocab.min_freq,
                 "Drop words seen fewer times in train (they become <unk>)")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  app.add_option("--max-size", options.vocab.max_size,
                 "Largest vocabulary, specials included (0 = no limit)")
      ->capture_default_str();
  app.add_option("--max-len", options.max_len,
                 "Keep only the first N tokens of each example (0 = all)")
      ->capture_default_str();
  app.add_option("--threads", options.threads, "Worker threads for cleaning and tokenizing")
      ->capture_default_str()
      ->check(CLI::Range(1, 256));
  app.add_flag("--skip-bad-rows", options.skip_bad_rows,
               "Skip malformed rows and print counts by reason, instead of stopping at the first");
  app.add_option("--classes", options.classes_file,
                 "File of class names, one per line (line k names class k)")
      ->check(CLI::ExistingFile);
  app.add_option("--num-classes", options.num_classes,
                 "Number of classes K (default: from --classes, else the largest class in train)");
  app.add_flag("--quiet", quiet, "Print only errors");
  CLI11_PARSE(app, argc, argv);

  spdlog::set_pattern("%v");
  if (quiet) spdlog::set_level(spdlog::level::warn);
  try {
    const auto report = engine::io::prepare_dataset(
        options, [](const std::string& line) { spdlog::info("{}", line); });
    if (!quiet) print_summary(report, options.skip_bad_rows);
    spdlog::info("[data] wrote {}", options.out_dir);
  } catch (const engine::io::DataError& e) {
    std::fprintf(stderr, "engine_prep: error: %s\n", e.what());
    return 1;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "engine_prep: error: %s\n", e.what());
    return 1;
  }
  return 0;
}
