#include "layers/packed_sequence.h"

#include <algorithm>
#include <numeric>
#include <stdexcept>
#include <string>

namespace engine {

PackedLayout PackedLayout::from_lengths(std::span<const std::int32_t> lengths) {
  PackedLayout layout;
  layout.order.resize(lengths.size());
  std::iota(layout.order.begin(), layout.order.end(), 0);
  std::stable_sort(layout.order.begin(), layout.order.end(), [&](int a, int b) {
    return lengths[static_cast<std::size_t>(a)] > lengths[static_cast<std::size_t>(b)];
  });
  for (const int b : layout.order) {
    const int length = lengths[static_cast<std::size_t>(b)];
    if (length < 1)
      throw std::invalid_argument("packed sequence: length " + std::to_string(length) +
                                  " at batch row " + std::to_string(b));
    layout.lengths.push_back(length);
  }
  const int steps = layout.lengths.empty() ? 0 : layout.lengths.front();
  layout.batch_sizes.assign(static_cast<std::size_t>(steps), 0);
  for (const int length : layout.lengths) {
    for (int t = 0; t < length; ++t) ++layout.batch_sizes[static_cast<std::size_t>(t)];
  }
  layout.step_offsets.assign(static_cast<std::size_t>(steps) + 1, 0);
  for (int t = 0; t < steps; ++t) {
    layout.step_offsets[static_cast<std::size_t>(t) + 1] =
        layout.step_offsets[static_cast<std::size_t>(t)] +
        layout.batch_sizes[static_cast<std::size_t>(t)];
  }
  return layout;
}

}  // namespace engine
