// Where our canonical recurrent parameters (engine/model.h: W_ih [G*H x I], W_hh [G*H x H],
// b_ih, b_hh [G*H] per direction, gates in cuDNN/PyTorch order) go in a cuDNN weight space.
// cuDNN numbers each gate's input matrix linLayerID g and recurrent matrix G+g (LSTM i,f,g,o;
// GRU r,z,n; the tanh RNN's one "gate": 0 and 1), with the double bias beside them; where each
// lands is asked of cuDNN (cudnnGetRNNWeightParams), never assumed: the query is a parameter, so
// the plan is plain C++ tested on any machine, and validate_plan rejects a layout that does not
// tile the space.
#pragma once

#include <cstddef>
#include <functional>
#include <vector>

#include "layers/recurrent_layer.h"

namespace engine {

enum class RecurrentTensor { kWeightIh, kWeightHh, kBiasIh, kBiasHh };

// count elements from our tensor (direction, tensor) at our_offset to cuDNN's at cudnn_offset.
struct WeightCopy {
  int direction = 0;
  RecurrentTensor tensor = RecurrentTensor::kWeightIh;
  std::size_t our_offset = 0;
  std::size_t cudnn_offset = 0;
  std::size_t count = 0;
};

// What cuDNN says of one (pseudo layer, linLayerID): element offsets from the weight space's
// start and the element counts of the matrix and the bias it describes.
struct CudnnParamLocation {
  std::size_t matrix_offset = 0, matrix_count = 0;
  std::size_t bias_offset = 0, bias_count = 0;
};
using CudnnParamQuery = std::function<CudnnParamLocation(int pseudo_layer, int lin_layer_id)>;

// For a one-layer descriptor (pseudo layer = direction). Throws std::runtime_error when cuDNN's
// matrix or bias sizes differ from ours.
std::vector<WeightCopy> cudnn_weight_plan(CellType cell, int input, int hidden, int directions,
                                          const CudnnParamQuery& query);

// Throws std::runtime_error unless the copies stay inside a space of `space_elements` and
// never overlap there.
void validate_plan(const std::vector<WeightCopy>& plan, std::size_t space_elements);

}  // namespace engine
