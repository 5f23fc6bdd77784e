#include "engine/backend.h"

#include <stdexcept>

namespace engine {

std::string precision_name(Precision precision) {
  switch (precision) {
    case Precision::kFp16:
      return "fp16";
    case Precision::kTf32:
      return "tf32";
    case Precision::kFp32:
      break;
  }
  return "fp32";
}

Precision parse_precision(const std::string& name) {
  if (name == "fp32") return Precision::kFp32;
  if (name == "fp16") return Precision::kFp16;
  if (name == "tf32") return Precision::kTf32;
  throw std::invalid_argument("precision: expected fp32, fp16 or tf32, got '" + name + "'");
}

}  // namespace engine
