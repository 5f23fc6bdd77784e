// Small prepared datasets and run configurations shared by the training tests.
#pragma once

#include <sstream>
#include <string>

#include "engine/train_config.h"
#include "io/prep.h"
#include "io/synthetic_corpus.h"
#include "test_util.h"

namespace engine::test {

inline const auto kQuiet = [](const std::string&) {};

// A 3-class synthetic dataset with train/valid/test splits.
inline std::string make_dataset(const ScratchDir& dir, std::int64_t rows = 600) {
  std::ostringstream train, test;
  io::write_synthetic_csv(
      {.seed = 11, .classes = 3, .rows = rows, .vocab_words = 300, .min_words = 3, .max_words = 12},
      train);
  io::write_synthetic_csv(
      {.seed = 12, .classes = 3, .rows = 90, .vocab_words = 300, .min_words = 3, .max_words = 12},
      test);
  io::PrepOptions options;
  options.train_files = {write_file(dir.file("train.csv"), train.str())};
  options.test_files = {write_file(dir.file("test.csv"), test.str())};
  options.valid_fraction = 0.15;
  options.out_dir = dir.file("ds");
  io::prepare_dataset(options, kQuiet);
  return options.out_dir;
}

inline TrainConfig small_run(const std::string& data, const std::string& out) {
  TrainConfig c;
  c.data = data;
  c.out = out;
  c.embed = 8;
  c.hidden = 12;
  c.layers = 2;
  c.bidirectional = true;
  c.dropout = 0.2f;
  c.epochs = 2;
  c.batch_size = 16;
  c.accum_steps = 2;
  c.clip_norm = 1.0;
  c.schedule = "cosine";
  c.warmup_steps = 3;
  c.lr = 5e-3;
  c.quiet = true;
  c.log_every = 0;
  return c;
}

}  // namespace engine::test
