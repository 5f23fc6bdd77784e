#include "engine/device_runner.h"

#include <cmath>
#include <limits>

namespace engine {

DeviceRunner::DeviceRunner(const ModelConfig& model_config, const OptimizerConfig& optimizer_config,
                           std::unique_ptr<Backend> backend,
                           std::unique_ptr<comm::Communicator> device_comm, bool fused_recurrent)
    : backend_(std::move(backend)),
      model_(model_config, *backend_, fused_recurrent),
      optimizer_config_(optimizer_config),
      host_optimizer_(optimizer_config, model_.size()),
      first_(*backend_),
      second_(*backend_),
      embedding_floats_(model_.host().parameters().slice("embedding.weight").size),
      touched_(static_cast<std::size_t>(model_config.vocab_size)),
      touched_ids_(*backend_),
      touched_rows_(*backend_),
      device_comm_(std::move(device_comm)),
      fused_recurrent_(fused_recurrent) {
  first_.ensure(model_.size());
  second_.ensure(optimizer_config.kind == OptimizerKind::kSgd ? 1 : model_.size());
  backend_->zero(first_.data(), model_.size() * sizeof(float));
  if (optimizer_config.kind != OptimizerKind::kSgd)
    backend_->zero(second_.data(), model_.size() * sizeof(float));
  if (backend_->precision() == Precision::kFp16) scaler_.emplace();
}

DeviceRunner::~DeviceRunner() = default;

std::string DeviceRunner::describe() const {
  return backend_->name() + ", " + precision_name(backend_->precision()) +
         (fused_recurrent_ ? ", cuDNN recurrent layers" : ", our recurrent kernels") +
         (device_comm_ ? ", gradients summed on the device" : "") + "; " +
         backend_->memory_summary();
}

void DeviceRunner::push() {
  model_.upload_parameters();
  steps_ = host_optimizer_.steps();
  const auto first = host_optimizer_.first_moment();
  const auto second = host_optimizer_.second_moment();
  backend_->upload(first_.data(), first.data(), first.size() * sizeof(float));
  if (!second.empty())
    backend_->upload(second_.data(), second.data(), second.size() * sizeof(float));
}

void DeviceRunner::pull() {
  model_.download_parameters();
  std::vector<float> first(host_optimizer_.first_moment().size()),
      second(host_optimizer_.second_moment().size());
  backend_->download(first.data(), first_.data(), first.size() * sizeof(float));
  if (!second.empty())
    backend_->download(second.data(), second_.data(), second.size() * sizeof(float));
  host_optimizer_.restore(steps_, first, second);
}

StepResult DeviceRunner::train_step(const io::Batch& batch, std::uint64_t dropout_seed,
                                    std::uint64_t dropout_step, bool last_of_step) {
  model_.set_loss_scale(scaler_ ? scaler_->scale() : 1.0f);
  touched_.touch_all(batch.tokens);
  if (!device_comm_ || bucket_floats_ == 0 || !last_of_step)
    return model_.train_step(batch, dropout_seed, dropout_step);
  // The last micro-batch finishes the gradients: start reducing the layers above the embedding
  // as backward goes down (the embedding's touched rows follow in reduce_gradients).
  overlapped_ = true;
  unsent_end_ = model_.size();
  model_.set_grads_ready([this](std::size_t offset) {
    const std::size_t from = std::max(offset, embedding_floats_);
    if (unsent_end_ <= from || unsent_end_ - from < bucket_floats_) return;
    device_comm_->start_allreduce_sum(std::span<float>(model_.grads() + from, unsent_end_ - from));
    unsent_end_ = from;
  });
  StepResult result = model_.train_step(batch, dropout_seed, dropout_step);
  model_.set_grads_ready({});
  return result;
}

ModelRunner::Buckets DeviceRunner::reduce_gradients(comm::Communicator& world) {
  if (world.size() == 1) return {};
  if (device_comm_) {
    const std::size_t end = overlapped_ ? unsent_end_ : model_.size();
    if (end > embedding_floats_) {
      device_comm_->start_allreduce_sum(
          std::span<float>(model_.grads() + embedding_floats_, end - embedding_floats_));
    }
    device_comm_->finish_allreduces();
    overlapped_ = false;
    reduce_embedding();
    return {};
  }
  staging_.resize(model_.size());
  backend_->download(staging_.data(), model_.grads(), staging_.size() * sizeof(float));
  world.allreduce_sum(std::span<float>(staging_));
  backend_->upload(model_.grads(), staging_.data(), staging_.size() * sizeof(float));
  return {};
}

// The embedding's gradient over only the rows some rank touched (comm/touched_rows.h): gathered
// into a packed buffer on the device, summed there, written back.
void DeviceRunner::reduce_embedding() {
  const std::vector<std::int32_t> rows = touched_.agree(*device_comm_);
  const auto width = static_cast<std::size_t>(model_.config().embed);
  float* embedding = model_.grads();  // the arena's first tensor
  if (comm::TouchedRows::dense(rows.size(), embedding_floats_ / width)) {
    device_comm_->allreduce_sum(std::span<float>(embedding, embedding_floats_));
    return;
  }
  if (rows.empty()) return;
  const int count = static_cast<int>(rows.size());
  std::int32_t* ids = touched_ids_.ensure(rows.size());
  float* packed = touched_rows_.ensure(rows.size() * width);
  backend_->upload(ids, rows.data(), rows.size() * sizeof(std::int32_t));
  backend_->gather_rows(ids, count, static_cast<int>(width), embedding, packed);
  device_comm_->allreduce_sum(std::span<float>(packed, rows.size() * width));
  backend_->scatter_rows(ids, count, static_cast<int>(width), packed, embedding);
}

ModelRunner::Update DeviceRunner::update(std::int64_t rows, double clip_norm, float lr) {
  ++updates_;
  Update result;
  result.loss_scale = scaler_ ? scaler_->scale() : 1.0f;
  const std::size_t n = model_.size();
  float* grads = model_.grads();
  const Backend::GradCheck check =
      backend_->unscale_check_norm(grads, n, 1.0f / (static_cast<float>(rows) * result.loss_scale));
  if (scaler_ && scaler_->update(check.non_finite, updates_)) {
    result.skipped = true;
    result.grad_norm = std::numeric_limits<double>::quiet_NaN();
    return result;
  }
  result.grad_norm = std::sqrt(check.sum_squares);
  if (clip_norm > 0 && result.grad_norm > clip_norm)
    backend_->scale(grads, n, static_cast<float>(clip_norm / (result.grad_norm + 1e-6)));
  ++steps_;
  if (optimizer_config_.kind == OptimizerKind::kSgd) {
    backend_->sgd_update(model_.values(), grads, first_.data(), n,
                         sgd_step(optimizer_config_, steps_, lr));
  } else {
    backend_->adam_update(model_.values(), grads, first_.data(), second_.data(), n,
                          adam_step(optimizer_config_, steps_, lr));
  }
  return result;
}

nlohmann::json DeviceRunner::scaler_state() const {
  return scaler_ ? scaler_->to_json() : nlohmann::json(nullptr);
}

void DeviceRunner::restore_scaler(const nlohmann::json& state) {
  if (scaler_ && !state.is_null()) scaler_->restore(state);
}

}  // namespace engine
