// engine_synth_csv: writes a deterministic synthetic AG News layout CSV (tests, benchmarks).
#include <CLI/CLI.hpp>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>

#include "io/synthetic_corpus.h"

int main(int argc, char** argv) {
  CLI::App app{
      "Write a deterministic synthetic CSV in AG News layout "
      "(\"class\",\"title\",\"description\")."};
  engine::io::SyntheticOptions options;
  std::string out_path;
  std::string size;
  bool no_quirks = false;
  app.add_option("--out", out_path, "Output CSV file")->required();
  app.add_option("--rows", options.rows, "Number of rows (ignored with --size)");
  app.add_option("--size", size, "Write rows until the file reaches this size, e.g. 1G, 200M, 64K");
  app.add_option("--classes", options.classes, "Number of classes")->check(CLI::Range(1, 100000));
  app.add_option("--seed", options.seed, "Seed: the same seed gives the same file");
  app.add_option("--vocab-words", options.vocab_words, "Distinct common words")
      ->check(CLI::Range(10, 10000000));
  app.add_option("--min-words", options.min_words, "Shortest description, in words");
  app.add_option("--max-words", options.max_words, "Longest description, in words");
  app.add_flag("--no-quirks", no_quirks,
               "Leave out the AG News debris (entities, backslashes, tags)");
  CLI11_PARSE(app, argc, argv);
  options.quirks = !no_quirks;
  try {
    if (!size.empty()) {
      const char unit = static_cast<char>(std::toupper(size.back()));
      const std::uint64_t scale = unit == 'G'   ? 1ULL << 30
                                  : unit == 'M' ? 1ULL << 20
                                  : unit == 'K' ? 1ULL << 10
                                                : 1;
      options.bytes = std::stoull(scale == 1 ? size : size.substr(0, size.size() - 1)) * scale;
    }
    // Write beside the target and rename, so a failed run leaves nothing half-written.
    const std::string tmp = out_path + ".tmp";
    std::int64_t rows = 0;
    {
      std::ofstream out(tmp, std::ios::binary);
      if (!out) throw std::runtime_error(tmp + ": cannot write");
      rows = engine::io::write_synthetic_csv(options, out);
      out.close();
      if (!out) throw std::runtime_error(tmp + ": write failed (disk full?)");
    }
    std::filesystem::rename(tmp, out_path);
    std::cerr << "[data] wrote " << rows << " rows to " << out_path << "\n";
  } catch (const std::exception& e) {
    std::cerr << "engine_synth_csv: error: " << e.what() << "\n";
    return 1;
  }
  return 0;
}
