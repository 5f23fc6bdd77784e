#include "tracking/tensorboard_writer.h"

#include <unistd.h>

#include <chrono>
#include <cstring>
#include <filesystem>
#include <stdexcept>

#include "tracking/crc32c.h"
#include "tracking/tensorboard.pb.h"
#include "tracking/tensorboard_hparams.pb.h"

namespace engine::tracking {

namespace {

double now_seconds() {
  return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
}

// A summary value carrying hparams plugin data, as TensorBoard's hparams.summary writes it.
void add_hparams_value(tensorboard::Summary& summary, const std::string& tag,
                       const tensorboard::hparams::HParamsPluginData& data) {
  auto* value = summary.add_value();
  value->set_tag(tag);
  auto* plugin = value->mutable_metadata()->mutable_plugin_data();
  plugin->set_plugin_name("hparams");
  plugin->set_content(data.SerializeAsString());
  auto* tensor = value->mutable_tensor();
  tensor->set_dtype(1);  // DT_FLOAT, shape [0]
  tensor->mutable_tensor_shape()->add_dim()->set_size(0);
}

// The metrics the HParams dashboard tabulates against the hyperparameters.
constexpr const char* kHparamMetrics[] = {"valid/accuracy", "valid/macro_f1", "valid/loss",
                                          "test/accuracy", "test/macro_f1"};

}  // namespace

TensorBoardWriter::TensorBoardWriter(const std::string& dir) {
  std::error_code error;
  std::filesystem::create_directories(dir, error);
  char host[256] = {};
  ::gethostname(host, sizeof host - 1);
  // A new file each time (a resumed run in the same second and process gets the next number).
  const std::string prefix = (std::filesystem::path(dir) / "events.out.tfevents.").string() +
                             std::to_string(static_cast<long long>(now_seconds())) + "." + host +
                             "." + std::to_string(::getpid()) + ".";
  for (int n = 0; path_.empty() || std::filesystem::exists(path_); ++n)
    path_ = prefix + std::to_string(n);
  file_.open(path_, std::ios::binary | std::ios::trunc);
  if (!file_) throw std::runtime_error("--tensorboard " + dir + ": cannot create " + path_);
  tensorboard::Event header;
  header.set_file_version("brain.Event:2");
  write(header);
}

void TensorBoardWriter::write(tensorboard::Event& event) {
  if (event.wall_time() == 0) event.set_wall_time(now_seconds());
  const std::string data = event.SerializeAsString();
  char frame[12];
  const std::uint64_t length = data.size();
  std::memcpy(frame, &length, 8);  // little-endian on every platform we build for
  const std::uint32_t length_crc = masked_crc32c(frame, 8);
  std::memcpy(frame + 8, &length_crc, 4);
  const std::uint32_t data_crc = masked_crc32c(data.data(), data.size());
  file_.write(frame, sizeof frame);
  file_.write(data.data(), static_cast<std::streamsize>(data.size()));
  file_.write(reinterpret_cast<const char*>(&data_crc), 4);
  file_.flush();  // TensorBoard shows a live run as it goes
  if (!file_) throw std::runtime_error(path_ + ": cannot write");
}

void TensorBoardWriter::start(const nlohmann::json& config, std::int64_t steps_done) {
  if (steps_done > 0) {
    tensorboard::Event restart;
    restart.set_step(steps_done + 1);  // TensorBoard drops older points from this step on
    restart.mutable_session_log()->set_status(tensorboard::SessionLog::START);
    write(restart);
  }
  namespace hp = tensorboard::hparams;
  hp::HParamsPluginData experiment_data, session_data;
  hp::Experiment* experiment = experiment_data.mutable_experiment();
  experiment->set_time_created_secs(now_seconds());
  hp::SessionStartInfo* session = session_data.mutable_session_start_info();
  session->set_start_time_secs(now_seconds());
  for (const auto& [key, value] : config.items()) {
    hp::HParamInfo* info = experiment->add_hparam_infos();
    info->set_name(key);
    google::protobuf::Value& v = (*session->mutable_hparams())[key];
    if (value.is_boolean()) {
      info->set_type(hp::DATA_TYPE_BOOL);
      v.set_bool_value(value.get<bool>());
    } else if (value.is_number()) {
      info->set_type(hp::DATA_TYPE_FLOAT64);
      v.set_number_value(value.get<double>());
    } else {
      info->set_type(hp::DATA_TYPE_STRING);
      v.set_string_value(value.is_string() ? value.get<std::string>() : value.dump());
    }
  }
  for (const char* tag : kHparamMetrics) {
    hp::MetricInfo* metric = experiment->add_metric_infos();
    metric->mutable_name()->set_tag(tag);
  }
  tensorboard::Event event;
  add_hparams_value(*event.mutable_summary(), "_hparams_/experiment", experiment_data);
  add_hparams_value(*event.mutable_summary(), "_hparams_/session_start_info", session_data);
  write(event);
}

void TensorBoardWriter::scalars(std::int64_t step, std::span<const Scalar> values) {
  tensorboard::Event event;
  event.set_step(step);
  for (const Scalar& s : values) {
    auto* value = event.mutable_summary()->add_value();
    value->set_tag(s.name);
    value->set_simple_value(static_cast<float>(s.value));
  }
  write(event);
}

void TensorBoardWriter::finish(RunStatus status, const std::string&) {
  namespace hp = tensorboard::hparams;
  hp::HParamsPluginData data;
  data.mutable_session_end_info()->set_status(
      status == RunStatus::finished ? hp::STATUS_SUCCESS
      : status == RunStatus::failed ? hp::STATUS_FAILURE
                                    : hp::STATUS_RUNNING);  // interrupted: it resumes later
  data.mutable_session_end_info()->set_end_time_secs(now_seconds());
  tensorboard::Event event;
  add_hparams_value(*event.mutable_summary(), "_hparams_/session_end_info", data);
  write(event);
}

}  // namespace engine::tracking
