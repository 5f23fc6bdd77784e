// engine_prep's pipeline: CSV files in AG News layout -> a dataset directory of HDF5 shards
// (dataset_format.h). Two streaming passes keep memory bounded by the word table:
//   1. parse, clean and tokenize every row (worker threads), intern words to provisional ids,
//      count training words, and spool (label, ids) per split to a temporary file;
//   2. build the vocabulary from the training counts, remap the spools to final ids and write
//      the shards.
// Everything is written under a temporary directory beside --out and renamed into place at the
// end, so a failure never leaves a partial dataset behind.
#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "io/row_parser.h"
#include "io/vocab.h"

namespace engine::io {

struct PrepOptions {
  std::vector<std::string> train_files;
  std::vector<std::string> valid_files;  // empty: a slice of train becomes validation
  std::vector<std::string> test_files;
  double valid_fraction = 0.05;
  std::uint64_t split_seed = 0;  // which train rows form the validation slice
  std::string out_dir;
  std::int64_t shards = 1;
  VocabLimits vocab;
  std::size_t max_len = 0;  // 0 = keep every token
  int threads = 1;
  bool skip_bad_rows = false;
  bool force = false;            // replace an existing --out
  std::int64_t num_classes = 0;  // 0 = from --classes, else the largest class in train
  std::string classes_file;      // one class name per line, line k names class k
};

struct SplitCounts {
  std::int64_t examples = 0;
  std::int64_t tokens = 0;
  std::int64_t unknown_tokens = 0;
  std::int64_t truncated = 0;  // examples cut at max_len
};

struct PrepReport {
  std::map<std::string, SplitCounts> splits;
  std::array<std::int64_t, kBadRowKinds> bad_rows{};
  std::int64_t distinct_words = 0;
  std::int64_t vocab_size = 0;
  std::int64_t num_classes = 0;
  std::uint64_t input_bytes = 0;
  double seconds = 0;
};

// Progress lines ("[data] ...") go to `log`; errors are thrown as DataError.
PrepReport prepare_dataset(const PrepOptions& options,
                           const std::function<void(const std::string&)>& log);

// Whether the 0-based train row `ordinal` falls in the validation slice: a hash of the ordinal,
// so the slice is the same on every run and independent of threads and file size.
bool in_validation_slice(std::uint64_t ordinal, double fraction, std::uint64_t seed);

}  // namespace engine::io
