// One recurrent layer (LSTM or GRU, one or both directions) through cuDNN 9's v8 RNN API, as
// DESIGN.md lays out: cudnnSetRNNDescriptor_v8 (double bias; fp16 data with fp32 math on tensor
// cores, or fp32 with FMA math only, so no TF32); the packed sequence-major data layout, which
// is our PackedLayout (sorted lengths, step by step), with per-sequence lengths on host and
// device; the weight space packed from our canonical fp32 parameters with offsets queried from
// cuDNN (engine/cudnn_weight_plan.h); cudnnRNNBackwardData_v8 strictly before
// cudnnRNNBackwardWeights_v8, which adds into a zeroed weight-gradient space that is then added
// to our gradient arena. Dropout stays DeviceModel's (Philox, between layers), so both
// --rnn-impl choices draw the same masks.
#pragma once

#include <cuda_runtime.h>
#include <cudnn.h>

#include <memory>

#include "engine/backend.h"

namespace engine {

// `memory` allocates the layer's buffers (the caching allocator of the CUDA backend that owns
// `handle` and `stream`); both must outlive the layer.
std::unique_ptr<FusedRecurrentLayer> make_cudnn_recurrent(cudnnHandle_t handle, cudaStream_t stream,
                                                          Backend& memory, Precision precision,
                                                          CellType cell, int input, int hidden,
                                                          bool bidirectional);

}  // namespace engine
