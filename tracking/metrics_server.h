// --metrics-port P: an HTTP endpoint (cpp-httplib, on its own thread) serving GET /metrics from a
// MetricsRegistry for Prometheus to scrape while the run trains.
#pragma once

#include <memory>
#include <string>
#include <thread>

#include "tracking/metrics_registry.h"

namespace httplib {
class Server;
}

namespace engine::tracking {

class MetricsServer {
 public:
  // Listens on host:port (port 0 picks a free one); throws std::runtime_error when it cannot.
  MetricsServer(const MetricsRegistry& registry, const std::string& host, int port);
  ~MetricsServer();
  MetricsServer(const MetricsServer&) = delete;
  MetricsServer& operator=(const MetricsServer&) = delete;
  int port() const { return port_; }

 private:
  std::unique_ptr<httplib::Server> server_;
  std::thread thread_;
  int port_ = 0;
};

}  // namespace engine::tracking
