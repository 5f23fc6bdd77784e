#include "io/vocab.h"

#include <algorithm>
#include <fstream>

#include "io/data_error.h"
#include "io/hdf5_file.h"

namespace engine::io {

Vocab Vocab::build(std::vector<std::pair<std::string, std::int64_t>> counts,
                   const VocabLimits& limits) {
  std::erase_if(counts, [&](const auto& entry) {
    return entry.second < limits.min_freq || entry.first == kPad || entry.first == kUnk;
  });
  std::sort(counts.begin(), counts.end(), [](const auto& a, const auto& b) {
    return a.second != b.second ? a.second > b.second : a.first < b.first;
  });
  if (limits.max_size > 0) {
    const auto keep = static_cast<std::size_t>(std::max<std::int64_t>(limits.max_size - 2, 0));
    if (counts.size() > keep) counts.resize(keep);
  }
  Vocab vocab;
  vocab.tokens_ = {std::string(kPad), std::string(kUnk)};
  vocab.counts_ = {0, 0};
  for (auto& [token, count] : counts) {
    vocab.tokens_.push_back(std::move(token));
    vocab.counts_.push_back(count);
  }
  vocab.index();
  return vocab;
}

Vocab Vocab::from_tokens(std::vector<std::string> tokens, std::vector<std::int64_t> counts,
                         const std::string& source) {
  if (tokens.size() < 2 || tokens[kPadId] != kPad || tokens[kUnkId] != kUnk) {
    throw DataError(source + ": vocabulary must start with <pad>, <unk>");
  }
  if (counts.size() != tokens.size()) {
    throw DataError(source + ": vocabulary has " + std::to_string(tokens.size()) + " tokens but " +
                    std::to_string(counts.size()) + " counts");
  }
  Vocab vocab;
  vocab.tokens_ = std::move(tokens);
  vocab.counts_ = std::move(counts);
  vocab.index();
  if (vocab.ids_.size() != vocab.tokens_.size()) {
    throw DataError(source + ": vocabulary holds a token twice");
  }
  return vocab;
}

void Vocab::index() {
  ids_.clear();
  ids_.reserve(tokens_.size());
  for (std::size_t i = 0; i < tokens_.size(); ++i) {
    ids_.emplace(tokens_[i], static_cast<std::int32_t>(i));
  }
}

std::int32_t Vocab::id(std::string_view token) const {
  const auto it = ids_.find(token);
  return it == ids_.end() ? kUnkId : it->second;
}

void Vocab::save_text(const std::string& path) const {
  std::ofstream out(path);
  for (std::size_t i = 0; i < tokens_.size(); ++i) {
    out << i << '\t' << tokens_[i] << '\t' << counts_[i] << '\n';
  }
  if (!out) throw DataError(path + ": cannot write vocabulary");
}

void Vocab::save_hdf5(const std::string& path) const {
  auto file = h5::File::create(path);
  file.write_strings("/tokens", tokens_);
  file.write<std::int64_t>("/counts", counts_);
  file.set_attr("/", "vocab_size", static_cast<std::int64_t>(tokens_.size()));
  file.set_attr("/", "pad_id", static_cast<std::int64_t>(kPadId));
  file.set_attr("/", "unk_id", static_cast<std::int64_t>(kUnkId));
}

Vocab Vocab::load_hdf5(const std::string& path) {
  const auto file = h5::File::open_read(path);
  return from_tokens(file.read_strings("/tokens"), file.read<std::int64_t>("/counts"), path);
}

}  // namespace engine::io
