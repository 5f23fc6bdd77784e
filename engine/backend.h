// The operations a model step needs from a compute backend, on raw pointers into the backend's
// own memory (host memory for the CPU backend, device memory for CUDA). DeviceModel
// (engine/device_model.h) is written once against this interface, so the orchestration of a
// step (offsets, packed steps, which buffer feeds which GEMM) is tested every day on the CPU
// backend and the CUDA backend is only a thin launch layer over the same kernels/math functions.
//
// Conventions: matrices are row-major; counts are elements unless a name says bytes; every
// operation is ordered after the previous one (one stream), and only the calls that return a
// value to the host (download, unscale_check_norm) wait for the device.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include "engine/model_config.h"
#include "kernels/math/optimizers.h"

namespace engine {

enum class Transpose { kNo, kYes };

// fp16: GEMM operands are rounded to half and multiplied with fp32 accumulation (tensor cores on
// the GPU); activations, pointwise math, gradients and optimizer state stay fp32. tf32: fp32
// everywhere, but GEMMs (and cuDNN's RNN) may run on TF32 tensor cores, whose operands keep 10
// mantissa bits (Ampere and newer; PyTorch's default for cuDNN). fp32 is strict.
enum class Precision { kFp32, kFp16, kTf32 };
std::string precision_name(Precision precision);
Precision parse_precision(const std::string& name);

// Inverted dropout over a flat buffer: element i keeps math::dropout_scale(seed, stream, step, i).
struct DropoutDraw {
  std::uint64_t seed = 0;
  std::uint32_t stream = 0;
  std::uint64_t step = 0;
  float p = 0.0f;
};

// One step of a packed recurrent pass: `rows` live rows, of which the first `with_state` continue
// a previous state (the rest start from zeros).
struct CellStep {
  int rows = 0;
  int with_state = 0;
  int hidden = 0;
};

// The packed batch as the readout sees it; lengths and step_offsets are backend int32 arrays
// (PackedLayout's, sorted order), features = hidden * directions.
struct ReadoutShape {
  int sequences = 0;
  int hidden = 0;
  int features = 0;
  bool bidirectional = false;
  const std::int32_t* lengths = nullptr;
  const std::int32_t* step_offsets = nullptr;
};

// Rows of d_rows grouped by the token they were looked up from (built on the host per batch):
// token tokens[u] receives rows rows[starts[u]] .. rows[starts[u+1]-1], in that order, so the
// embedding gradient is summed in a fixed order with no atomics (deterministic on both sides).
struct ScatterPlan {
  int unique = 0;
  const std::int32_t* tokens = nullptr;
  const std::int32_t* starts = nullptr;
  const std::int32_t* rows = nullptr;
};

// A whole recurrent layer, both directions at once, run by a vendor library (cuDNN) instead of
// DeviceModel's own steps: what --rnn-impl cudnn asks a backend for.
struct PackedBatch {
  int rows = 0;
  int sequences = 0;
  int steps = 0;
  const int* host_lengths = nullptr;      // sorted, longest first (PackedLayout's)
  const std::int32_t* lengths = nullptr;  // the same in backend memory
};
// One direction's canonical parameters (engine/model.h layout), in backend memory.
struct DirectionWeights {
  const float *w_ih, *w_hh, *b_ih, *b_hh;
};
struct DirectionGrads {
  float *w_ih, *w_hh, *b_ih, *b_hh;
};

class FusedRecurrentLayer {
 public:
  virtual ~FusedRecurrentLayer() = default;
  // x: packed [rows x input]; y: packed [rows x directions*H], directions side by side.
  virtual void forward(const PackedBatch& batch, const float* x, const DirectionWeights* weights,
                       float* y, bool training) = 0;
  // After a training forward of the same batch: dx OVERWRITTEN, parameter gradients ADDED.
  virtual void backward(const PackedBatch& batch, const float* x, const float* y, const float* dy,
                        const DirectionWeights* weights, const DirectionGrads* grads,
                        float* dx) = 0;
};

class Backend {
 public:
  virtual ~Backend() = default;
  virtual std::string name() const = 0;
  virtual Precision precision() const = 0;
  // Where the memory is and how much is held (reported at start-up).
  virtual std::string memory_summary() const = 0;

  // Memory.
  virtual void* allocate(std::size_t bytes) = 0;
  virtual void release(void* pointer) = 0;
  virtual void upload(void* destination, const void* host_source, std::size_t bytes) = 0;
  virtual void download(void* host_destination, const void* source, std::size_t bytes) = 0;
  virtual void copy(void* destination, const void* source, std::size_t bytes) = 0;
  virtual void zero(void* destination, std::size_t bytes) = 0;
  // destination[r * destination_stride + j] = source[r * source_stride + j], j < width.
  virtual void copy_rows(float* destination, int destination_stride, const float* source,
                         int source_stride, int rows, int width) = 0;
  virtual void synchronize() = 0;
  // Device-side timing: mark(k) records the point the work queued so far reaches (slot k < 4);
  // seconds_between(a, b) waits for mark b and returns how long the device took from a to b.
  virtual void mark(int slot) = 0;
  virtual double seconds_between(int first, int second) = 0;
  // The queue the backend's work runs on (a cudaStream_t on CUDA), for a communicator to order
  // itself after; null on the CPU.
  virtual void* native_stream() const { return nullptr; }

  // Dense algebra. op(A) is m x k, op(B) k x n, C m x n; lda/ldb/ldc are row strides as stored.
  virtual void gemm(Transpose trans_a, Transpose trans_b, int m, int n, int k, float alpha,
                    const float* a, int lda, const float* b, int ldb, float beta, float* c,
                    int ldc) = 0;
  virtual void add_row_vector(float* matrix, int rows, int columns, const float* vector) = 0;
  virtual void add_column_sums(const float* matrix, int rows, int columns, float* sums) = 0;
  virtual void accumulate(float* destination, const float* source, std::size_t count) = 0;
  virtual void scale(float* values, std::size_t count, float factor) = 0;

  // Model pieces.
  virtual void gather_rows(const std::int32_t* ids, int rows, int width, const float* table,
                           float* out) = 0;
  // out[ids[r]] = source[r] (writes rows back where gather_rows read them).
  virtual void scatter_rows(const std::int32_t* ids, int rows, int width, const float* source,
                            float* out) = 0;
  // out[r] = source[previous[r]], or zeros where previous[r] < 0 (each packed row's previous
  // state, for dW_hh as one GEMM).
  virtual void gather_previous(const std::int32_t* previous, int rows, int width,
                               const float* source, float* out) = 0;
  virtual void scatter_add_rows(const ScatterPlan& plan, int width, const float* d_rows,
                                float* table_grad) = 0;
  virtual void dropout(float* values, std::size_t count, const DropoutDraw& draw) = 0;
  // Pointwise pass of one packed step (kernels/math/rnn_cells.h). projection, keep, c, h point at
  // the step's first packed row; recurrent at the previous states times W_hh^T ([rows x G*H],
  // read for the first with_state rows only: the others start from zeros), to which bias (b_hh)
  // is added here; h_prev / c_prev at the previous step's first row (the first with_state rows).
  // keep holds 4H per row (LSTM i,f,g,o; GRU r,z,n,u_n); c is LSTM only.
  virtual void cell_forward(CellType cell, const CellStep& step, const float* projection,
                            const float* recurrent, const float* bias, const float* h_prev,
                            const float* c_prev, float* keep, float* c, float* h) = 0;
  // Its backward: dh (from above) at the step's rows; dh_carry / dc_carry per sequence (in: from
  // the next step; out: LSTM dc to the previous step, GRU the direct part z*dh of dh_prev, both
  // zeroed where a sequence starts); d_projection (and for GRU d_recurrent) at the step's rows.
  virtual void cell_backward(CellType cell, const CellStep& step, const float* keep, const float* c,
                             const float* c_prev, const float* h, const float* h_prev,
                             const float* dh, float* dh_carry, float* dc_carry, float* d_projection,
                             float* d_recurrent) = 0;
  // features [sequences x F] from top [rows x F]; argmax_rows [sequences x F] for max only.
  virtual void readout_forward(Readout readout, const ReadoutShape& shape, const float* top,
                               float* features, std::int32_t* argmax_rows) = 0;
  // d_top must be zero on entry; the readout's gradient is added into it.
  virtual void readout_backward(Readout readout, const ReadoutShape& shape, const float* d_features,
                                const std::int32_t* argmax_rows, float* d_top) = 0;
  virtual void activation_forward(Activation activation, const float* pre, float* out,
                                  std::size_t count) = 0;
  // grad *= activation'(pre) (through out where cheaper).
  virtual void activation_backward(Activation activation, const float* pre, const float* out,
                                   float* grad, std::size_t count) = 0;
  // Per row: losses[r] = weight * loss, predictions[r] = first argmax, and when d_logits is not
  // null d_logits = scale * weight * (softmax - target). class_weights may be null (all 1).
  virtual void softmax_xent(const float* logits, int rows, int classes, const std::int32_t* labels,
                            const float* class_weights, float smoothing, float scale, float* losses,
                            std::int32_t* predictions, float* d_logits) = 0;

  // A vendor-library recurrent layer (LSTM/GRU), or null when the backend has none.
  virtual std::unique_ptr<FusedRecurrentLayer> make_fused_recurrent(CellType /*cell*/,
                                                                    int /*input*/, int /*hidden*/,
                                                                    bool /*bidirectional*/) {
    return nullptr;
  }

  // Optimizer and loss scaling over whole arenas.
  virtual void adam_update(float* values, const float* grads, float* first, float* second,
                           std::size_t count, const math::AdamStep& step) = 0;
  virtual void sgd_update(float* values, const float* grads, float* buffer, std::size_t count,
                          const math::SgdStep& step) = 0;
  // The one pass after the gradient allreduce: grads *= inverse_scale (1 / (examples * loss
  // scale)), whether any value is inf or NaN, and the sum of squares for clipping.
  struct GradCheck {
    bool non_finite = false;
    double sum_squares = 0;
  };
  virtual GradCheck unscale_check_norm(float* grads, std::size_t count, float inverse_scale) = 0;
};

}  // namespace engine
