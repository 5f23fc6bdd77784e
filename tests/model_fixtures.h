// Small models and random variable-length batches shared by the model tests.
#pragma once

#include <algorithm>
#include <cmath>
#include <limits>
#include <random>
#include <span>

#include "engine/model_config.h"
#include "io/loader.h"

namespace engine {

inline io::Batch random_batch(std::mt19937& rng, std::size_t rows, int vocab, int classes,
                              int max_len, std::size_t padding = 0) {
  io::Batch batch;
  batch.rows = rows;
  std::uniform_int_distribution<int> length(1, max_len), token(2, vocab - 1), label(0, classes - 1);
  for (std::size_t r = 0; r < rows; ++r) {
    batch.lengths.push_back(length(rng));
    batch.labels.push_back(label(rng));
  }
  batch.max_len =
      static_cast<std::size_t>(*std::max_element(batch.lengths.begin(), batch.lengths.end())) +
      padding;
  batch.tokens.assign(rows * batch.max_len, 0);
  for (std::size_t r = 0; r < rows; ++r) {
    for (int t = 0; t < batch.lengths[r]; ++t)
      batch.tokens[r * batch.max_len + static_cast<std::size_t>(t)] = token(rng);
  }
  return batch;
}

inline ModelConfig small_config(CellType cell, int layers, bool bidirectional, Readout readout,
                                int dense_hidden) {
  ModelConfig c;
  c.cell = cell;
  c.vocab_size = 12;
  c.embed = 5;
  c.hidden = 4;
  c.layers = layers;
  c.bidirectional = bidirectional;
  c.readout = readout;
  c.dense_hidden = dense_hidden;
  c.dense_activation = Activation::kTanh;  // smooth, for finite differences
  c.classes = 3;
  c.label_smoothing = 0.1f;
  c.class_weights = {1.0f, 0.5f, 2.0f};
  return c;
}

// Largest |a - b| over the largest |b| (at least 1e-6): the per-op error the backend tests bound.
// Infinite when the sizes differ.
inline double normalised_error(std::span<const float> a, std::span<const float> b) {
  if (a.size() != b.size()) return std::numeric_limits<double>::infinity();
  double worst = 0, scale = 1e-6;
  for (std::size_t i = 0; i < a.size(); ++i) {
    worst = std::max(worst, static_cast<double>(std::fabs(a[i] - b[i])));
    scale = std::max(scale, static_cast<double>(std::fabs(b[i])));
  }
  return worst / scale;
}

}  // namespace engine
