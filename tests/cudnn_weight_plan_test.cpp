// The cuDNN weight-space packing plan against a fake cuDNN that lays the linear layers out in
// its own (shuffled, padded) order: every element of our tensors lands exactly once, each gate of
// W_ih / W_hh and each bias goes to the linLayerID cuDNN numbers it with, and a layout that
// disagrees with ours (sizes, overlaps, out of range) is refused with a clear error.
#include "engine/cudnn_weight_plan.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <numeric>
#include <random>
#include <stdexcept>

namespace engine {
namespace {

struct FakeCudnn {
  int gates, input, hidden, directions;
  std::map<std::pair<int, int>, CudnnParamLocation> where;
  std::size_t space = 0;

  FakeCudnn(CellType cell, int in, int h, int dirs)
      : gates(gate_count(cell)), input(in), hidden(h), directions(dirs) {
    // Linear layers in a shuffled order, each followed by 3 elements of padding.
    std::vector<std::pair<int, int>> order;
    for (int d = 0; d < dirs; ++d)
      for (int lin = 0; lin < 2 * gates; ++lin) order.emplace_back(d, lin);
    std::shuffle(order.begin(), order.end(), std::mt19937(5));
    for (const auto& [d, lin] : order) {
      const auto width = static_cast<std::size_t>(lin < gates ? in : h);
      CudnnParamLocation l;
      l.matrix_offset = space;
      l.matrix_count = static_cast<std::size_t>(h) * width;
      space += l.matrix_count + 3;
      l.bias_offset = space;
      l.bias_count = static_cast<std::size_t>(h);
      space += l.bias_count + 3;
      where[{d, lin}] = l;
    }
  }
  CudnnParamQuery query() const {
    return [this](int d, int lin) { return where.at({d, lin}); };
  }
};

class CudnnWeightPlan : public testing::TestWithParam<std::tuple<CellType, int>> {};

TEST_P(CudnnWeightPlan, PlacesEveryGateWhereCudnnSays) {
  const auto [cell, directions] = GetParam();
  constexpr int input = 5, hidden = 3;
  const FakeCudnn cudnn(cell, input, hidden, directions);
  const auto plan = cudnn_weight_plan(cell, input, hidden, directions, cudnn.query());
  validate_plan(plan, cudnn.space);
  const int G = gate_count(cell);

  // Our tensors with values naming (direction, tensor, element); the packed space read back.
  std::vector<float> space(cudnn.space, -1.0f);
  const auto value = [](int d, RecurrentTensor t, std::size_t i) {
    return static_cast<float>(d * 100000 + static_cast<int>(t) * 10000 + static_cast<int>(i));
  };
  std::map<std::pair<int, RecurrentTensor>, std::size_t> covered;
  for (const WeightCopy& c : plan) {
    for (std::size_t i = 0; i < c.count; ++i)
      space[c.cudnn_offset + i] = value(c.direction, c.tensor, c.our_offset + i);
    covered[{c.direction, c.tensor}] += c.count;
  }
  for (int d = 0; d < directions; ++d) {
    EXPECT_EQ((covered[{d, RecurrentTensor::kWeightIh}]),
              static_cast<std::size_t>(G * hidden * input));
    EXPECT_EQ((covered[{d, RecurrentTensor::kWeightHh}]),
              static_cast<std::size_t>(G * hidden * hidden));
    EXPECT_EQ((covered[{d, RecurrentTensor::kBiasIh}]), static_cast<std::size_t>(G * hidden));
    EXPECT_EQ((covered[{d, RecurrentTensor::kBiasHh}]), static_cast<std::size_t>(G * hidden));
    for (int g = 0; g < G; ++g) {
      // Gate g's rows of W_ih (row-major, H x input) are linLayerID g's matrix, in order.
      const CudnnParamLocation in = cudnn.where.at({d, g});
      for (std::size_t i = 0; i < in.matrix_count; ++i) {
        ASSERT_EQ(
            space[in.matrix_offset + i],
            value(d, RecurrentTensor::kWeightIh, static_cast<std::size_t>(g * hidden * input) + i));
      }
      for (std::size_t i = 0; i < in.bias_count; ++i) {
        ASSERT_EQ(space[in.bias_offset + i],
                  value(d, RecurrentTensor::kBiasIh, static_cast<std::size_t>(g * hidden) + i));
      }
      const CudnnParamLocation rec = cudnn.where.at({d, G + g});
      for (std::size_t i = 0; i < rec.matrix_count; ++i) {
        ASSERT_EQ(space[rec.matrix_offset + i],
                  value(d, RecurrentTensor::kWeightHh,
                        static_cast<std::size_t>(g * hidden * hidden) + i));
      }
      for (std::size_t i = 0; i < rec.bias_count; ++i) {
        ASSERT_EQ(space[rec.bias_offset + i],
                  value(d, RecurrentTensor::kBiasHh, static_cast<std::size_t>(g * hidden) + i));
      }
    }
  }
}

INSTANTIATE_TEST_SUITE_P(CellsAndDirections, CudnnWeightPlan,
                         testing::Combine(testing::Values(CellType::kRnn, CellType::kLstm,
                                                          CellType::kGru),
                                          testing::Values(1, 2)));

TEST(CudnnWeightPlan, RefusesLayoutsThatDisagreeWithOurs) {
  FakeCudnn cudnn(CellType::kLstm, 5, 3, 1);
  cudnn.where[{0, 6}].matrix_count = 12;  // a recurrent matrix that is not H x H
  EXPECT_THROW(cudnn_weight_plan(CellType::kLstm, 5, 3, 1, cudnn.query()), std::runtime_error);

  const FakeCudnn good(CellType::kGru, 4, 2, 1);
  auto plan = cudnn_weight_plan(CellType::kGru, 4, 2, 1, good.query());
  EXPECT_THROW(validate_plan(plan, good.space - 4), std::runtime_error);  // runs past the end
  plan[1].cudnn_offset = plan[0].cudnn_offset + 1;                        // overlaps
  EXPECT_THROW(validate_plan(plan, good.space), std::runtime_error);
}

}  // namespace
}  // namespace engine
