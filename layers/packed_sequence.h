// The packed layout of a variable-length batch, as PyTorch's PackedSequence: sequences sorted by
// length (longest first), then stored step by step, so step t holds exactly the sequences still
// running, as a contiguous block of rows. Row of (sorted sequence s, step t) is
// step_offsets[t] + s, valid for s < batch_sizes[t]. GEMMs over a step touch only live rows and
// padding never enters any computation.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

namespace engine {

struct PackedLayout {
  std::vector<int> order;         // order[s]: the batch row of sorted sequence s
  std::vector<int> lengths;       // sorted lengths, longest first
  std::vector<int> batch_sizes;   // per step: sequences with length > t
  std::vector<int> step_offsets;  // per step: first packed row; one extra entry = total rows

  int steps() const { return static_cast<int>(batch_sizes.size()); }
  int sequences() const { return static_cast<int>(order.size()); }
  int rows() const { return step_offsets.empty() ? 0 : step_offsets.back(); }
  int row(int sequence, int step) const {
    return step_offsets[static_cast<std::size_t>(step)] + sequence;
  }

  // From per-example lengths (all >= 1). Ties keep batch order (a stable sort), so the layout is
  // a pure function of the lengths.
  static PackedLayout from_lengths(std::span<const std::int32_t> lengths);
};

}  // namespace engine
