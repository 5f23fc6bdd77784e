// Runs body(begin, end) over `parts` contiguous pieces of [0, n) side by side: piece 0 on the
// calling thread, the others on their own threads; returns when all are done. For element-wise
// sweeps (the replicas' gradient sum, the optimizer update) whose result cannot depend on where
// the range is cut.
#pragma once

#include <cstddef>
#include <future>
#include <vector>

namespace engine {

template <typename Body>
void split_range(std::size_t n, std::size_t parts, Body&& body) {
  if (parts <= 1 || n < parts) {
    body(std::size_t{0}, n);
    return;
  }
  std::vector<std::future<void>> pending;
  for (std::size_t p = 1; p < parts; ++p) {
    pending.push_back(std::async(
        std::launch::async, [&body, n, parts, p] { body(p * n / parts, (p + 1) * n / parts); }));
  }
  body(std::size_t{0}, n / parts);
  for (auto& piece : pending) piece.get();
}

}  // namespace engine
