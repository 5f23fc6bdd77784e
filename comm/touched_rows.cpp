#include "comm/touched_rows.h"

#include <algorithm>
#include <bit>

namespace engine::comm {

std::vector<std::int32_t> TouchedRows::agree(Communicator& comm) {
  comm.allreduce_or(bits_);
  std::vector<std::int32_t> rows;
  for (std::size_t w = 0; w < bits_.size(); ++w) {
    for (std::uint64_t word = bits_[w]; word != 0; word &= word - 1)
      rows.push_back(
          static_cast<std::int32_t>(w * 64 + static_cast<std::size_t>(std::countr_zero(word))));
    bits_[w] = 0;
  }
  return rows;
}

std::size_t TouchedRows::allreduce_sum(Communicator& comm, std::span<float> matrix,
                                       std::size_t width) {
  const std::size_t rows = matrix.size() / width;
  const std::vector<std::int32_t> touched = agree(comm);
  if (dense(touched.size(), rows)) {
    comm.allreduce_sum(matrix);
    return rows;
  }
  packed_.resize(touched.size() * width);
  for (std::size_t slot = 0; slot < touched.size(); ++slot) {
    std::copy_n(matrix.begin() +
                    static_cast<std::ptrdiff_t>(static_cast<std::size_t>(touched[slot]) * width),
                width, packed_.begin() + static_cast<std::ptrdiff_t>(slot * width));
  }
  comm.allreduce_sum(std::span<float>(packed_));
  for (std::size_t slot = 0; slot < touched.size(); ++slot) {
    std::copy_n(packed_.begin() + static_cast<std::ptrdiff_t>(slot * width), width,
                matrix.begin() +
                    static_cast<std::ptrdiff_t>(static_cast<std::size_t>(touched[slot]) * width));
  }
  return touched.size();
}

}  // namespace engine::comm
