#include "engine/backend.h"

#include <stdexcept>

namespace engine {

std::string precision_name(Precision precision) {
  return precision == Precision::kFp16 ? "fp16" : "fp32";
}

Precision parse_precision(const std::string& name) {
  if (name == "fp32") return Precision::kFp32;
  if (name == "fp16") return Precision::kFp16;
  throw std::invalid_argument("precision: expected fp32 or fp16, got '" + name + "'");
}

}  // namespace engine
