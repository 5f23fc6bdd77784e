// Spellings of an enum for flags, YAML and JSON: one table per enum gives both directions and
// the error that lists the valid choices.
#pragma once

#include <array>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>

namespace engine {

template <typename E, std::size_t N>
struct EnumNames {
  std::string_view what;  // the option or field, for errors
  std::array<std::pair<E, std::string_view>, N> entries;

  std::string name(E value) const {
    for (const auto& [v, n] : entries) {
      if (v == value) return std::string(n);
    }
    return "?";
  }
  E parse(const std::string& text) const {
    std::string choices;
    for (const auto& [v, n] : entries) {
      if (n == text) return v;
      choices += (choices.empty() ? "" : ", ") + std::string(n);
    }
    throw std::invalid_argument(std::string(what) + ": '" + text + "' is not one of " + choices);
  }
};

}  // namespace engine
