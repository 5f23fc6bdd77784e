// Summing a matrix across ranks when each rank touched only a few of its rows: the embedding's
// gradient, whose rows are zero except for the tokens of the rank's batches (a few thousand of
// a vocabulary of tens of thousands), and which is final only when backward ends, so its
// reduction cannot hide behind compute. The ranks OR their touched-row bitmaps, pack the rows
// any rank touched, sum only those, and unpack them. The result equals a dense allreduce_sum:
// a row no rank touched is zero on every rank. When most rows are touched it sums densely.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "comm/communicator.h"

namespace engine::comm {

class TouchedRows {
 public:
  explicit TouchedRows(std::size_t rows) : bits_((rows + 63) / 64, 0) {}

  void touch(std::size_t row) { bits_[row / 64] |= std::uint64_t{1} << (row % 64); }
  // Every id of a padded token matrix (the <pad> row's gradient is zero, so marking it is exact).
  void touch_all(std::span<const std::int32_t> rows) {
    for (const std::int32_t row : rows) touch(static_cast<std::size_t>(row));
  }

  // Collective: the rows any rank touched, ascending; clears the marks for the next step.
  std::vector<std::int32_t> agree(Communicator& comm);
  // Whether summing `touched` of `rows` rows densely is cheaper than packing them.
  static bool dense(std::size_t touched, std::size_t rows) { return 2 * touched > rows; }

  // matrix: [rows x width], host memory. Collective. Returns how many rows were summed (all of
  // them when it went dense).
  std::size_t allreduce_sum(Communicator& comm, std::span<float> matrix, std::size_t width);

 private:
  std::vector<std::uint64_t> bits_;
  std::vector<float> packed_;
};

}  // namespace engine::comm
