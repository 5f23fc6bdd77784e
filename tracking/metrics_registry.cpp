#include "tracking/metrics_registry.h"

#include <cmath>
#include <cstdio>
#include <stdexcept>

namespace engine::tracking {

namespace {

// {a="x",b="y"} with the exposition format's escapes (backslash, quote, newline).
std::string render_labels(const Labels& labels) {
  if (labels.empty()) return {};
  std::string out = "{";
  for (std::size_t i = 0; i < labels.size(); ++i) {
    if (i > 0) out += ',';
    out += labels[i].first + "=\"";
    for (const char c : labels[i].second) {
      if (c == '\\' || c == '"') {
        out += '\\';
        out += c;
      } else if (c == '\n') {
        out += "\\n";
      } else {
        out += c;
      }
    }
    out += '"';
  }
  return out + "}";
}

std::string render_value(double value) {
  if (std::isnan(value)) return "NaN";
  if (std::isinf(value)) return value > 0 ? "+Inf" : "-Inf";
  char text[32];
  std::snprintf(text, sizeof text, "%.17g", value);
  return text;
}

}  // namespace

void MetricsRegistry::describe(const std::string& name, Type type, const std::string& help) {
  const std::lock_guard lock(mutex_);
  if (families_.emplace(name, Family{type, help, {}}).second) order_.push_back(name);
}

MetricsRegistry::Family& MetricsRegistry::family(const std::string& name) {
  const auto found = families_.find(name);
  if (found == families_.end()) throw std::logic_error("metric " + name + " was not described");
  return found->second;
}

void MetricsRegistry::set(const std::string& name, double value, const Labels& labels) {
  const std::lock_guard lock(mutex_);
  family(name).samples[render_labels(labels)] = value;
}

void MetricsRegistry::add(const std::string& name, double delta, const Labels& labels) {
  const std::lock_guard lock(mutex_);
  family(name).samples[render_labels(labels)] += delta;
}

std::string MetricsRegistry::render() const {
  const std::lock_guard lock(mutex_);
  std::string out;
  for (const auto& name : order_) {
    const Family& f = families_.at(name);
    out += "# HELP " + name + " " + f.help + "\n# TYPE " + name + " " +
           (f.type == Type::gauge ? "gauge" : "counter") + "\n";
    for (const auto& [labels, value] : f.samples)
      out += name + labels + " " + render_value(value) + "\n";
  }
  return out;
}

}  // namespace engine::tracking
