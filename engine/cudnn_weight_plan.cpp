#include "engine/cudnn_weight_plan.h"

#include <algorithm>
#include <stdexcept>
#include <string>

namespace engine {

std::vector<WeightCopy> cudnn_weight_plan(CellType cell, int input, int hidden, int directions,
                                          const CudnnParamQuery& query) {
  const int gates = gate_count(cell);
  const auto H = static_cast<std::size_t>(hidden);
  const auto I = static_cast<std::size_t>(input);
  std::vector<WeightCopy> plan;
  for (int d = 0; d < directions; ++d) {
    for (int lin = 0; lin < 2 * gates; ++lin) {
      const bool recurrent = lin >= gates;
      const auto gate = static_cast<std::size_t>(recurrent ? lin - gates : lin);
      const std::size_t width = recurrent ? H : I;
      const CudnnParamLocation where = query(d, lin);
      if (where.matrix_count != H * width || where.bias_count != H) {
        throw std::runtime_error("cuDNN weight layout: linLayerID " + std::to_string(lin) +
                                 " of direction " + std::to_string(d) + " holds a " +
                                 std::to_string(where.matrix_count) + "-element matrix and a " +
                                 std::to_string(where.bias_count) + "-element bias; expected " +
                                 std::to_string(H * width) + " and " + std::to_string(H));
      }
      plan.push_back({d, recurrent ? RecurrentTensor::kWeightHh : RecurrentTensor::kWeightIh,
                      gate * H * width, where.matrix_offset, H * width});
      plan.push_back({d, recurrent ? RecurrentTensor::kBiasHh : RecurrentTensor::kBiasIh, gate * H,
                      where.bias_offset, H});
    }
  }
  return plan;
}

void validate_plan(const std::vector<WeightCopy>& plan, std::size_t space_elements) {
  std::vector<std::pair<std::size_t, std::size_t>> ranges;
  for (const WeightCopy& c : plan) {
    if (c.cudnn_offset + c.count > space_elements) {
      throw std::runtime_error("cuDNN weight layout: a tensor at element " +
                               std::to_string(c.cudnn_offset) + " runs past the " +
                               std::to_string(space_elements) + "-element weight space");
    }
    ranges.emplace_back(c.cudnn_offset, c.cudnn_offset + c.count);
  }
  std::sort(ranges.begin(), ranges.end());
  for (std::size_t i = 1; i < ranges.size(); ++i) {
    if (ranges[i].first < ranges[i - 1].second) {
      throw std::runtime_error("cuDNN weight layout: tensors overlap at element " +
                               std::to_string(ranges[i].first));
    }
  }
}

}  // namespace engine
