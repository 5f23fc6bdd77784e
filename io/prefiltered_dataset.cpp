#include "io/prefiltered_dataset.h"

#include <libdeflate.h>

#include <cstring>

#include "io/data_error.h"

namespace engine::io {

PrefilteredInt32Dataset::PrefilteredInt32Dataset(h5::File& file, const std::string& name,
                                                 std::size_t chunk)
    : dataset_(file, name, H5T_STD_I32LE, chunk),
      chunk_(chunk),
      compressor_(libdeflate_alloc_compressor(h5::deflate_level())),
      shuffled_(chunk * sizeof(std::int32_t)) {
  if (compressor_ == nullptr) throw DataError(dataset_.where() + ": cannot allocate compressor");
  compressed_.resize(libdeflate_zlib_compress_bound(compressor_, shuffled_.size()));
  pending_.reserve(chunk);
}

PrefilteredInt32Dataset::~PrefilteredInt32Dataset() {
  libdeflate_free_compressor(compressor_);
}

void PrefilteredInt32Dataset::append(std::span<const std::int32_t> values) {
  total_ += values.size();
  while (!values.empty()) {
    if (pending_.empty() && values.size() >= chunk_) {  // whole chunks straight from the input
      write_chunk(values.data());
      values = values.subspan(chunk_);
      continue;
    }
    const std::size_t take = std::min(values.size(), chunk_ - pending_.size());
    pending_.insert(pending_.end(), values.begin(),
                    values.begin() + static_cast<std::ptrdiff_t>(take));
    values = values.subspan(take);
    if (pending_.size() == chunk_) {
      write_chunk(pending_.data());
      pending_.clear();
    }
  }
}

void PrefilteredInt32Dataset::finish() {
  if (!pending_.empty()) {
    pending_.resize(chunk_, 0);
    write_chunk(pending_.data());
    pending_.clear();
  }
  dataset_.resize(total_);
}

void PrefilteredInt32Dataset::write_chunk(const std::int32_t* values) {
  // HDF5's shuffle: byte k of every element goes to plane k.
  constexpr std::size_t kBytes = sizeof(std::int32_t);
  const auto* in = reinterpret_cast<const unsigned char*>(values);
  for (std::size_t i = 0; i < chunk_; ++i) {
    for (std::size_t b = 0; b < kBytes; ++b) shuffled_[b * chunk_ + i] = in[i * kBytes + b];
  }
  const std::size_t size = libdeflate_zlib_compress(compressor_, shuffled_.data(), shuffled_.size(),
                                                    compressed_.data(), compressed_.size());
  if (size == 0) throw DataError(dataset_.where() + ": compression failed");
  // Chunk-aligned extent first; the exact size is set in finish().
  dataset_.resize((chunks_written_ + 1) * chunk_);
  const hsize_t offset[1] = {chunks_written_ * chunk_};
  if (H5Dwrite_chunk(dataset_.id(), H5P_DEFAULT, 0, offset, size, compressed_.data()) < 0) {
    throw DataError(dataset_.where() + ": cannot write chunk (disk full?)");
  }
  ++chunks_written_;
}

}  // namespace engine::io
