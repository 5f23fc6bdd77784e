#include "io/prefiltered_dataset.h"

#include <isa-l/igzip_lib.h>

#include <cstring>

#include "io/data_error.h"

namespace engine::io {

namespace {
constexpr int kIgzipLevel = 1;
}

PrefilteredInt32Dataset::PrefilteredInt32Dataset(h5::File& file, const std::string& name,
                                                 std::size_t chunk)
    : dataset_(file, name, H5T_STD_I32LE, chunk),
      chunk_(chunk),
      level_buffer_(ISAL_DEF_LVL1_DEFAULT),
      shuffled_(chunk * sizeof(std::int32_t)),
      // Incompressible data grows by a few bytes per 64 KiB stored block, plus the zlib wrapper.
      compressed_(shuffled_.size() + shuffled_.size() / 16 + 1024) {
  pending_.reserve(chunk);
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
  isal_zstream stream;
  isal_deflate_stateless_init(&stream);
  stream.level = kIgzipLevel;
  stream.level_buf = level_buffer_.data();
  stream.level_buf_size = static_cast<std::uint32_t>(level_buffer_.size());
  stream.gzip_flag = IGZIP_ZLIB;  // what HDF5's deflate filter reads
  stream.end_of_stream = 1;
  stream.flush = NO_FLUSH;
  stream.next_in = shuffled_.data();
  stream.avail_in = static_cast<std::uint32_t>(shuffled_.size());
  stream.next_out = compressed_.data();
  stream.avail_out = static_cast<std::uint32_t>(compressed_.size());
  if (isal_deflate_stateless(&stream) != COMP_OK || stream.avail_in != 0) {
    throw DataError(dataset_.where() + ": compression failed");
  }
  const std::size_t size = stream.total_out;
  // Chunk-aligned extent first; the exact size is set in finish().
  dataset_.resize((chunks_written_ + 1) * chunk_);
  const hsize_t offset[1] = {chunks_written_ * chunk_};
  if (H5Dwrite_chunk(dataset_.id(), H5P_DEFAULT, 0, offset, size, compressed_.data()) < 0) {
    throw DataError(dataset_.where() + ": cannot write chunk (disk full?)");
  }
  ++chunks_written_;
}

}  // namespace engine::io
