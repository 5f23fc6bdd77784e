#include "tracking/metrics_server.h"

#include <httplib.h>

#include <stdexcept>

namespace engine::tracking {

MetricsServer::MetricsServer(const MetricsRegistry& registry, const std::string& host, int port)
    : server_(std::make_unique<httplib::Server>()) {
  server_->Get("/metrics", [&registry](const httplib::Request&, httplib::Response& response) {
    response.set_content(registry.render(), "text/plain; version=0.0.4; charset=utf-8");
  });
  server_->Get("/", [](const httplib::Request&, httplib::Response& response) {
    response.set_content("engine_train metrics: /metrics\n", "text/plain");
  });
  if (port == 0) {
    port_ = server_->bind_to_any_port(host);
  } else {
    port_ = server_->bind_to_port(host, port) ? port : -1;
  }
  if (port_ < 0) {
    throw std::runtime_error("--metrics-port " + std::to_string(port) + ": cannot listen on " +
                             host + ":" + std::to_string(port) + " (in use?)");
  }
  thread_ = std::thread([this] { server_->listen_after_bind(); });
}

MetricsServer::~MetricsServer() {
  server_->stop();
  if (thread_.joinable()) thread_.join();
}

}  // namespace engine::tracking
