// Deterministic synthetic corpus in AG News layout, for tests and for benchmarks of large inputs.
// Each class has its own topic words mixed into a shared Zipf-distributed vocabulary, so the
// text is learnable; with `quirks` some rows carry AG News debris (HTML entities, "#39;",
// backslashes, tags) for the cleaner to remove. The same options always give the same bytes.
#pragma once

#include <cstdint>
#include <ostream>
#include <string>

namespace engine::io {

struct SyntheticOptions {
  std::uint64_t seed = 1;
  std::int64_t classes = 4;
  std::int64_t rows = 1000;  // used when bytes == 0
  std::uint64_t bytes = 0;   // > 0: write rows until at least this many bytes
  std::int64_t vocab_words = 20000;
  std::int64_t min_words = 8;  // description length range, in words
  std::int64_t max_words = 60;
  bool quirks = true;
};

// Writes the CSV to `out`; returns the number of rows written.
std::int64_t write_synthetic_csv(const SyntheticOptions& options, std::ostream& out);

}  // namespace engine::io
