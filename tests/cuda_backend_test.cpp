// The CUDA backend against the CPU backend, op by op (normalised error per op) and as a whole
// DeviceModel step (fp32 tight, fp16 loose) for every cell, direction, readout and dropout.
// Skipped, with the reason, where no GPU is present; on a GPU machine:
// `ctest --test-dir build -R 'Cuda|Nccl' --output-on-failure`.
#include "engine/cuda_backend.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <numeric>
#include <random>
#include <vector>

#include "engine/cpu_backend.h"
#include "engine/device_model.h"
#include "engine/device_runner.h"
#include "kernels/cuda/device_info.h"
#include "model_fixtures.h"

namespace engine {
namespace {

std::vector<float> random_values(std::size_t n, std::mt19937& rng, float range = 2.0f) {
  std::uniform_real_distribution<float> u(-range, range);
  std::vector<float> v(n);
  for (auto& x : v) x = u(rng);
  return v;
}

// The same host data in both backends' memory.
template <typename T>
class Twin {
 public:
  Twin(Backend& cpu, Backend& gpu, const std::vector<T>& host)
      : cpu_(cpu), gpu_(gpu), c_(cpu), g_(gpu), size_(host.size()) {
    cpu.upload(c_.ensure(size_ + 1), host.data(), size_ * sizeof(T));
    gpu.upload(g_.ensure(size_ + 1), host.data(), size_ * sizeof(T));
  }
  T* on_cpu() { return c_.data(); }
  T* on_gpu() { return g_.data(); }
  std::vector<T> cpu_values() { return read(cpu_, c_.data()); }
  std::vector<T> gpu_values() { return read(gpu_, g_.data()); }

 private:
  std::vector<T> read(Backend& b, const T* p) {
    std::vector<T> out(size_);
    b.download(out.data(), p, size_ * sizeof(T));
    return out;
  }
  Backend &cpu_, &gpu_;
  DeviceBuffer<T> c_, g_;
  std::size_t size_;
};

class CudaBackend : public testing::Test {
 protected:
  void SetUp() override {
    const cuda::CudaEnvironment env = cuda::probe_cuda();
    if (env.devices.empty()) GTEST_SKIP() << "skipped: " << env.unavailable_reason;
    cpu_ = make_cpu_backend();
    gpu_ = make_cuda_backend(0, Precision::kFp32);
  }
  template <typename T>
  Twin<T> twin(const std::vector<T>& host) {
    return Twin<T>(*cpu_, *gpu_, host);
  }
  // Runs op(backend, twin-pointer-chooser) on both and compares `out`.
  void expect_close(Twin<float>& out, const char* what, double tolerance = 1e-5) {
    EXPECT_LE(normalised_error(out.gpu_values(), out.cpu_values()), tolerance) << what;
  }
  std::unique_ptr<Backend> cpu_, gpu_;
  std::mt19937 rng_{1};
};

TEST_F(CudaBackend, GemmMatchesForEveryTransposeAndStride) {
  constexpr int m = 37, n = 29, k = 53, pad = 3;
  for (const Transpose ta : {Transpose::kNo, Transpose::kYes}) {
    for (const Transpose tb : {Transpose::kNo, Transpose::kYes}) {
      const int lda = (ta == Transpose::kNo ? k : m) + pad;
      const int ldb = (tb == Transpose::kNo ? n : k) + pad;
      const int a_rows = ta == Transpose::kNo ? m : k, b_rows = tb == Transpose::kNo ? k : n;
      auto a = twin(random_values(static_cast<std::size_t>(a_rows * lda), rng_));
      auto b = twin(random_values(static_cast<std::size_t>(b_rows * ldb), rng_));
      auto c = twin(random_values(static_cast<std::size_t>(m * (n + pad)), rng_));
      cpu_->gemm(ta, tb, m, n, k, 0.5f, a.on_cpu(), lda, b.on_cpu(), ldb, 1.0f, c.on_cpu(),
                 n + pad);
      gpu_->gemm(ta, tb, m, n, k, 0.5f, a.on_gpu(), lda, b.on_gpu(), ldb, 1.0f, c.on_gpu(),
                 n + pad);
      expect_close(c, "gemm");
    }
  }
}

TEST_F(CudaBackend, Fp16GemmRoundsOperandsAsTheCpuEmulation) {
  const auto cpu16 = make_cpu_backend(Precision::kFp16);
  const auto gpu16 = make_cuda_backend(0, Precision::kFp16);
  constexpr int m = 64, n = 48, k = 96;
  const auto a_host = random_values(m * k, rng_), b_host = random_values(n * k, rng_);
  Twin<float> a(*cpu16, *gpu16, a_host), b(*cpu16, *gpu16, b_host),
      c(*cpu16, *gpu16, std::vector<float>(m * n, 0.0f));
  cpu16->gemm(Transpose::kNo, Transpose::kYes, m, n, k, 1.0f, a.on_cpu(), k, b.on_cpu(), k, 0.0f,
              c.on_cpu(), n);
  gpu16->gemm(Transpose::kNo, Transpose::kYes, m, n, k, 1.0f, a.on_gpu(), k, b.on_gpu(), k, 0.0f,
              c.on_gpu(), n);
  // Same half operands, fp32 accumulation in another order.
  EXPECT_LE(normalised_error(c.gpu_values(), c.cpu_values()), 1e-5);
}

TEST_F(CudaBackend, RowAndColumnOpsMatch) {
  constexpr int rows = 41, cols = 19;
  const auto v = random_values(cols, rng_);
  auto vector = twin(v);
  {
    auto m = twin(random_values(rows * cols, rng_));
    cpu_->add_row_vector(m.on_cpu(), rows, cols, vector.on_cpu());
    gpu_->add_row_vector(m.on_gpu(), rows, cols, vector.on_gpu());
    expect_close(m, "add_row_vector", 0);
    std::vector<std::int32_t> previous(rows);
    for (int r = 0; r < rows; ++r) previous[r] = r % 3 == 0 ? -1 : (r * 7) % rows;
    auto prev = twin(previous);
    auto gathered = twin(std::vector<float>(rows * cols, 1.0f));
    cpu_->gather_previous(prev.on_cpu(), rows, cols, m.on_cpu(), gathered.on_cpu());
    gpu_->gather_previous(prev.on_gpu(), rows, cols, m.on_gpu(), gathered.on_gpu());
    expect_close(gathered, "gather_previous", 0);
    std::vector<std::int32_t> ids = {3, 17, 0, 40};
    auto id_twin = twin(ids);
    auto scattered = twin(random_values(rows * cols, rng_));
    cpu_->scatter_rows(id_twin.on_cpu(), 4, cols, m.on_cpu(), scattered.on_cpu());
    gpu_->scatter_rows(id_twin.on_gpu(), 4, cols, m.on_gpu(), scattered.on_gpu());
    expect_close(scattered, "scatter_rows", 0);
  }
  {
    auto m = twin(random_values(rows * cols, rng_));
    auto sums = twin(random_values(cols, rng_));
    cpu_->add_column_sums(m.on_cpu(), rows, cols, sums.on_cpu());
    gpu_->add_column_sums(m.on_gpu(), rows, cols, sums.on_gpu());
    expect_close(sums, "add_column_sums", 0);  // both sum each column in row order
  }
  {
    auto a = twin(random_values(rows * cols, rng_)), b = twin(random_values(rows * cols, rng_));
    cpu_->accumulate(a.on_cpu(), b.on_cpu(), rows * cols);
    gpu_->accumulate(a.on_gpu(), b.on_gpu(), rows * cols);
    cpu_->scale(a.on_cpu(), rows * cols, 0.25f);
    gpu_->scale(a.on_gpu(), rows * cols, 0.25f);
    expect_close(a, "accumulate + scale", 0);
    auto joined = twin(std::vector<float>(rows * 2 * cols, 0.0f));
    cpu_->copy_rows(joined.on_cpu() + cols, 2 * cols, a.on_cpu(), cols, rows, cols);
    gpu_->copy_rows(joined.on_gpu() + cols, 2 * cols, a.on_gpu(), cols, rows, cols);
    expect_close(joined, "copy_rows", 0);
  }
}

TEST_F(CudaBackend, EmbeddingAndDropoutMatch) {
  constexpr int vocab = 50, width = 24, rows = 300;
  std::uniform_int_distribution<int> token(0, vocab - 1);
  std::vector<std::int32_t> ids(rows);
  for (auto& id : ids) id = token(rng_);
  auto table = twin(random_values(vocab * width, rng_));
  auto ids_twin = twin(ids);
  auto out = twin(std::vector<float>(rows * width, 0.0f));
  cpu_->gather_rows(ids_twin.on_cpu(), rows, width, table.on_cpu(), out.on_cpu());
  gpu_->gather_rows(ids_twin.on_gpu(), rows, width, table.on_gpu(), out.on_gpu());
  expect_close(out, "gather_rows", 0);
  const DropoutDraw draw{42, 3, 17, 0.3f};
  cpu_->dropout(out.on_cpu(), rows * width, draw);
  gpu_->dropout(out.on_gpu(), rows * width, draw);
  expect_close(out, "dropout (same Philox masks)", 0);

  // Scatter plan: rows grouped by token, in row order.
  std::vector<std::int32_t> order(rows), tokens, starts;
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [&](int a, int b) { return ids[a] < ids[b]; });
  for (int k = 0; k < rows; ++k) {
    if (tokens.empty() || tokens.back() != ids[order[k]]) {
      tokens.push_back(ids[order[k]]);
      starts.push_back(k);
    }
  }
  starts.push_back(rows);
  auto t = twin(tokens), s = twin(starts), r = twin(order);
  auto grad = twin(random_values(vocab * width, rng_));
  const auto d_rows = random_values(rows * width, rng_);
  auto d = twin(d_rows);
  const int unique = static_cast<int>(tokens.size());
  cpu_->scatter_add_rows({unique, t.on_cpu(), s.on_cpu(), r.on_cpu()}, width, d.on_cpu(),
                         grad.on_cpu());
  gpu_->scatter_add_rows({unique, t.on_gpu(), s.on_gpu(), r.on_gpu()}, width, d.on_gpu(),
                         grad.on_gpu());
  expect_close(grad, "scatter_add_rows", 1e-6);
}

TEST_F(CudaBackend, RecurrentCellStepsMatch) {
  constexpr int rows = 23, with_state = 17, H = 33;
  for (const CellType cell : {CellType::kLstm, CellType::kGru, CellType::kRnn}) {
    const int GH = gate_count(cell) * H;
    auto p = twin(random_values(rows * GH, rng_)), u = twin(random_values(rows * GH, rng_));
    auto bias = twin(random_values(GH, rng_));
    auto h_prev = twin(random_values(rows * H, rng_)), c_prev = twin(random_values(rows * H, rng_));
    auto keep = twin(std::vector<float>(rows * 4 * H, 0.0f));
    auto c = twin(std::vector<float>(rows * H, 0.0f)), h = twin(std::vector<float>(rows * H, 0.0f));
    const CellStep step{rows, with_state, H};
    cpu_->cell_forward(cell, step, p.on_cpu(), u.on_cpu(), bias.on_cpu(), h_prev.on_cpu(),
                       c_prev.on_cpu(), keep.on_cpu(), c.on_cpu(), h.on_cpu());
    gpu_->cell_forward(cell, step, p.on_gpu(), u.on_gpu(), bias.on_gpu(), h_prev.on_gpu(),
                       c_prev.on_gpu(), keep.on_gpu(), c.on_gpu(), h.on_gpu());
    expect_close(h, (cell_name(cell) + " forward h").c_str());
    expect_close(keep, (cell_name(cell) + " forward gates").c_str());
    expect_close(c, (cell_name(cell) + " forward c").c_str());

    auto dh = twin(random_values(rows * H, rng_)), dh_carry = twin(random_values(rows * H, rng_));
    auto dc_carry = twin(random_values(rows * H, rng_));
    auto dp = twin(std::vector<float>(rows * GH, 0.0f)),
         du = twin(std::vector<float>(rows * GH, 0.0f));
    cpu_->cell_backward(cell, step, keep.on_cpu(), c.on_cpu(), c_prev.on_cpu(), h.on_cpu(),
                        h_prev.on_cpu(), dh.on_cpu(), dh_carry.on_cpu(), dc_carry.on_cpu(),
                        dp.on_cpu(), du.on_cpu());
    gpu_->cell_backward(cell, step, keep.on_gpu(), c.on_gpu(), c_prev.on_gpu(), h.on_gpu(),
                        h_prev.on_gpu(), dh.on_gpu(), dh_carry.on_gpu(), dc_carry.on_gpu(),
                        dp.on_gpu(), du.on_gpu());
    expect_close(dp, (cell_name(cell) + " backward d_projection").c_str());
    if (cell == CellType::kGru) expect_close(du, "gru backward d_recurrent");
    if (cell != CellType::kRnn) expect_close(dh_carry, "backward carry");
    if (cell == CellType::kLstm) expect_close(dc_carry, "lstm backward dc");
  }
}

TEST_F(CudaBackend, ReadoutsActivationsAndSoftmaxMatch) {
  // A packed batch of 5 sequences, bidirectional features.
  const std::vector<std::int32_t> lengths = {6, 4, 4, 2, 1};
  const PackedLayout layout = PackedLayout::from_lengths(lengths);
  constexpr int H = 7, F = 2 * H, B = 5;
  auto len = twin(layout.lengths), offsets = twin(layout.step_offsets);
  auto top = twin(random_values(static_cast<std::size_t>(layout.rows() * F), rng_));
  for (const Readout readout : {Readout::kLast, Readout::kMean, Readout::kMax}) {
    ReadoutShape c_shape{B, H, F, true, len.on_cpu(), offsets.on_cpu()};
    ReadoutShape g_shape{B, H, F, true, len.on_gpu(), offsets.on_gpu()};
    auto features = twin(std::vector<float>(B * F, 0.0f));
    auto argmax = twin(std::vector<std::int32_t>(B * F, 0));
    cpu_->readout_forward(readout, c_shape, top.on_cpu(), features.on_cpu(), argmax.on_cpu());
    gpu_->readout_forward(readout, g_shape, top.on_gpu(), features.on_gpu(), argmax.on_gpu());
    expect_close(features, (readout_name(readout) + " readout").c_str());
    auto d_features = twin(random_values(B * F, rng_));
    auto d_top = twin(std::vector<float>(static_cast<std::size_t>(layout.rows() * F), 0.0f));
    cpu_->readout_backward(readout, c_shape, d_features.on_cpu(), argmax.on_cpu(), d_top.on_cpu());
    gpu_->readout_backward(readout, g_shape, d_features.on_gpu(), argmax.on_gpu(), d_top.on_gpu());
    expect_close(d_top, (readout_name(readout) + " readout backward").c_str());
  }
  for (const Activation activation : {Activation::kRelu, Activation::kTanh}) {
    auto pre = twin(random_values(200, rng_)), out = twin(std::vector<float>(200, 0.0f));
    auto grad = twin(random_values(200, rng_));
    cpu_->activation_forward(activation, pre.on_cpu(), out.on_cpu(), 200);
    gpu_->activation_forward(activation, pre.on_gpu(), out.on_gpu(), 200);
    expect_close(out, "activation");
    cpu_->activation_backward(activation, pre.on_cpu(), out.on_cpu(), grad.on_cpu(), 200);
    gpu_->activation_backward(activation, pre.on_gpu(), out.on_gpu(), grad.on_gpu(), 200);
    expect_close(grad, "activation backward");
  }
  constexpr int rows = 33, K = 6;
  std::vector<std::int32_t> labels(rows);
  for (int r = 0; r < rows; ++r) labels[r] = r % K;
  auto logits = twin(random_values(rows * K, rng_, 5.0f)), weights = twin(random_values(K, rng_));
  auto label_twin = twin(labels);
  auto losses = twin(std::vector<float>(rows, 0.0f)), d = twin(std::vector<float>(rows * K, 0.0f));
  auto predictions = twin(std::vector<std::int32_t>(rows, 0));
  cpu_->softmax_xent(logits.on_cpu(), rows, K, label_twin.on_cpu(), weights.on_cpu(), 0.1f, 64.0f,
                     losses.on_cpu(), predictions.on_cpu(), d.on_cpu());
  gpu_->softmax_xent(logits.on_gpu(), rows, K, label_twin.on_gpu(), weights.on_gpu(), 0.1f, 64.0f,
                     losses.on_gpu(), predictions.on_gpu(), d.on_gpu());
  expect_close(losses, "softmax loss");
  expect_close(d, "softmax d_logits");
  EXPECT_EQ(predictions.gpu_values(), predictions.cpu_values());
}

TEST_F(CudaBackend, OptimizersAndTheLossScalePassMatch) {
  constexpr std::size_t n = 100003;
  const math::AdamStep adam{1e-3f, 0.9f, 0.999f, 1e-8f, 0.01f, true, 0.19f, 0.002f};
  auto values = twin(random_values(n, rng_)), grads = twin(random_values(n, rng_));
  auto m = twin(random_values(n, rng_, 0.1f));
  std::vector<float> positive = random_values(n, rng_, 0.1f);
  for (auto& x : positive) x = std::fabs(x);
  auto second = twin(positive);
  cpu_->adam_update(values.on_cpu(), grads.on_cpu(), m.on_cpu(), second.on_cpu(), n, adam);
  gpu_->adam_update(values.on_gpu(), grads.on_gpu(), m.on_gpu(), second.on_gpu(), n, adam);
  expect_close(values, "adam values");
  expect_close(m, "adam first moment");
  expect_close(second, "adam second moment");
  const math::SgdStep sgd{0.1f, 0.9f, 1e-4f, true, false};
  cpu_->sgd_update(values.on_cpu(), grads.on_cpu(), m.on_cpu(), n, sgd);
  gpu_->sgd_update(values.on_gpu(), grads.on_gpu(), m.on_gpu(), n, sgd);
  expect_close(values, "sgd values");

  for (const bool poisoned : {false, true}) {
    std::vector<float> g = random_values(n, rng_, 1000.0f);
    if (poisoned) g[77777] = std::numeric_limits<float>::infinity();
    auto gt = twin(g);
    const Backend::GradCheck a = cpu_->unscale_check_norm(gt.on_cpu(), n, 1.0f / 1024);
    const Backend::GradCheck b = gpu_->unscale_check_norm(gt.on_gpu(), n, 1.0f / 1024);
    EXPECT_EQ(a.non_finite, poisoned);
    EXPECT_EQ(b.non_finite, poisoned);
    if (!poisoned) {
      EXPECT_EQ(gt.gpu_values(), gt.cpu_values());  // one multiply: bit-identical
      EXPECT_NEAR(b.sum_squares, a.sum_squares, 1e-9 * a.sum_squares);
    }
  }
}

struct StepCase {
  std::string name;
  ModelConfig config;
  Precision precision;
  double tolerance;
};

void PrintTo(const StepCase& c, std::ostream* os) {
  *os << c.name;
}

class CudaModelStep : public testing::TestWithParam<StepCase> {};

// A whole training step (forward, backward, the gradient arena) on the GPU against the CPU
// backend: fp32 tight, fp16 (both sides rounding GEMM operands to half) loose.
TEST_P(CudaModelStep, MatchesTheCpuBackend) {
  const cuda::CudaEnvironment env = cuda::probe_cuda();
  if (env.devices.empty()) GTEST_SKIP() << "skipped: " << env.unavailable_reason;
  const StepCase& c = GetParam();
  const auto cpu = make_cpu_backend(c.precision);
  const auto gpu = make_cuda_backend(0, c.precision);
  DeviceModel reference(c.config, *cpu), model(c.config, *gpu);
  reference.initialize(3);
  model.initialize(3);
  std::mt19937 rng(5);
  for (int round = 0; round < 3; ++round) {
    const io::Batch batch =
        random_batch(rng, 24, static_cast<int>(c.config.vocab_size), c.config.classes, 17);
    reference.zero_grads();
    model.zero_grads();
    const StepResult want = reference.train_step(batch, 9, static_cast<std::uint64_t>(round));
    const StepResult got = model.train_step(batch, 9, static_cast<std::uint64_t>(round));
    EXPECT_NEAR(got.loss_sum, want.loss_sum, c.tolerance * std::fabs(want.loss_sum));
    EXPECT_LE(normalised_error(model.logits(), reference.logits()), c.tolerance);
    EXPECT_LE(normalised_error(model.download_grads(), reference.download_grads()),
              10 * c.tolerance);
  }
}

ModelConfig step_config(CellType cell, int layers, bool bidirectional, Readout readout,
                        float dropout) {
  ModelConfig c = small_config(cell, layers, bidirectional, readout, 0);
  c.vocab_size = 300;
  c.embed = 32;
  c.hidden = 48;
  c.dropout = dropout;
  return c;
}

INSTANTIATE_TEST_SUITE_P(
    Configurations, CudaModelStep,
    testing::Values(StepCase{"lstm_fp32", step_config(CellType::kLstm, 1, false, Readout::kLast, 0),
                             Precision::kFp32, 1e-4},
                    StepCase{"gru_bi_2layer_dropout_fp32",
                             step_config(CellType::kGru, 2, true, Readout::kMean, 0.2f),
                             Precision::kFp32, 1e-4},
                    StepCase{"rnn_max_fp32", step_config(CellType::kRnn, 1, true, Readout::kMax, 0),
                             Precision::kFp32, 1e-4},
                    StepCase{"lstm_bi_fp16",
                             step_config(CellType::kLstm, 2, true, Readout::kLast, 0.1f),
                             Precision::kFp16, 1e-3},
                    // TF32's rounding of the dropped bits is cuBLAS's (nearest or truncation),
                    // the CPU's emulation rounds to nearest: close, not exact.
                    StepCase{"gru_tf32", step_config(CellType::kGru, 1, false, Readout::kLast, 0),
                             Precision::kTf32, 1e-2}),
    [](const testing::TestParamInfo<StepCase>& param) { return param.param.name; });

// cuDNN's recurrent layers (--rnn-impl cudnn) against the CPU backend: gate order, the
// weight-space packing, variable lengths, the reverse direction and the last-step readout all
// agree, in a whole training step (logits, loss, every gradient) and in inference mode. In fp16
// cuDNN also keeps its activations in half, hence the looser bound.
class CudnnRecurrent : public testing::TestWithParam<StepCase> {};

TEST_P(CudnnRecurrent, MatchesOurKernels) {
  const cuda::CudaEnvironment env = cuda::probe_cuda();
  if (env.devices.empty()) GTEST_SKIP() << "skipped: " << env.unavailable_reason;
  const StepCase& c = GetParam();
  const auto cpu = make_cpu_backend(c.precision);
  const auto gpu = make_cuda_backend(0, c.precision);
  DeviceModel custom(c.config, *cpu), cudnn(c.config, *gpu, true);
  custom.initialize(3);
  cudnn.initialize(3);
  std::mt19937 rng(6);
  for (int round = 0; round < 3; ++round) {
    const io::Batch batch =
        random_batch(rng, 24, static_cast<int>(c.config.vocab_size), c.config.classes, 17);
    custom.zero_grads();
    cudnn.zero_grads();
    const StepResult want = custom.train_step(batch, 9, static_cast<std::uint64_t>(round));
    const StepResult got = cudnn.train_step(batch, 9, static_cast<std::uint64_t>(round));
    EXPECT_NEAR(got.loss_sum, want.loss_sum, c.tolerance * std::fabs(want.loss_sum));
    EXPECT_LE(normalised_error(cudnn.logits(), custom.logits()), c.tolerance);
    EXPECT_LE(normalised_error(cudnn.download_grads(), custom.download_grads()), 10 * c.tolerance);
    const StepResult eval = cudnn.evaluate(batch);  // cuDNN's inference mode
    EXPECT_NEAR(eval.loss_sum, custom.evaluate(batch).loss_sum, c.tolerance * want.loss_sum);
  }
}

INSTANTIATE_TEST_SUITE_P(
    Configurations, CudnnRecurrent,
    testing::Values(
        StepCase{"lstm_fp32", step_config(CellType::kLstm, 1, false, Readout::kLast, 0),
                 Precision::kFp32, 1e-4},
        StepCase{"gru_fp32", step_config(CellType::kGru, 1, false, Readout::kLast, 0),
                 Precision::kFp32, 1e-4},
        StepCase{"lstm_bi_2layer_dropout_fp32",
                 step_config(CellType::kLstm, 2, true, Readout::kLast, 0.2f), Precision::kFp32,
                 1e-4},
        StepCase{"rnn_bi_max_fp32", step_config(CellType::kRnn, 1, true, Readout::kMax, 0),
                 Precision::kFp32, 1e-4},
        StepCase{"gru_bi_mean_fp16", step_config(CellType::kGru, 1, true, Readout::kMean, 0),
                 Precision::kFp16, 1e-2},
        StepCase{"lstm_bi_tf32", step_config(CellType::kLstm, 1, true, Readout::kLast, 0),
                 Precision::kTf32, 1e-2}),
    [](const testing::TestParamInfo<StepCase>& param) { return param.param.name; });

// Forced overflow on the GPU: a loss scale of 2^30 overflows half in the classifier's GEMM, so
// the first steps are skipped with the parameters untouched, and the scale halves until it fits.
TEST_F(CudaBackend, Fp16OverflowIsSkippedAndTheScaleBacksOff) {
  const auto world = comm::make_single_process();
  ModelConfig config = step_config(CellType::kLstm, 1, false, Readout::kLast, 0);
  DeviceRunner runner(config, OptimizerConfig{}, make_cuda_backend(0, Precision::kFp16));
  runner.set_scaler(LossScaler({.init_scale = 1073741824.0f}));
  runner.initialize(2);
  runner.pull();
  const std::vector<float> before(runner.host_model().parameters().values().begin(),
                                  runner.host_model().parameters().values().end());
  std::mt19937 rng(8);
  int skipped = 0;
  for (int step = 0; step < 30; ++step) {
    const io::Batch batch = random_batch(rng, 16, 300, 3, 12);
    runner.zero_grads();
    const std::int64_t rows =
        runner.train_step(batch, 1, static_cast<std::uint64_t>(step), true).rows;
    runner.reduce_gradients(*world);
    const ModelRunner::Update update = runner.update(rows, 0, 1e-3f);
    if (step == 0) {
      EXPECT_TRUE(update.skipped);
      runner.pull();
      EXPECT_TRUE(std::equal(before.begin(), before.end(),
                             runner.host_model().parameters().values().begin()));
    }
    skipped += update.skipped ? 1 : 0;
  }
  EXPECT_GE(skipped, 3);
  EXPECT_LT(skipped, 30);
  EXPECT_EQ(runner.scaler_state().at("skipped_steps"), skipped);
}

}  // namespace
}  // namespace engine
