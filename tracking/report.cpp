#include "tracking/report.h"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "io/atomic_file.h"
#include "tracking/svg_chart.h"

namespace engine::tracking {

namespace fs = std::filesystem;
using nlohmann::json;

namespace {

constexpr std::size_t kMaxPlotPoints = 1000;

// The (step, key) points of records that have the key; more than kMaxPlotPoints are averaged
// in equal runs so long runs still plot quickly.
Series points(const std::vector<json>& records, const std::string& key, const std::string& label,
              int colour) {
  Series series{.label = label, .x = {}, .y = {}, .colour = colour};
  for (const json& r : records) {
    if (r.contains(key) && r[key].is_number() && r.contains("step")) {
      series.x.push_back(r["step"].get<double>());
      series.y.push_back(r[key].get<double>());
    }
  }
  const std::size_t n = series.x.size();
  if (n <= kMaxPlotPoints) return series;
  const std::size_t run = (n + kMaxPlotPoints - 1) / kMaxPlotPoints;
  Series averaged{.label = label + ", " + std::to_string(run) + "-step mean",
                  .x = {},
                  .y = {},
                  .colour = colour};
  for (std::size_t begin = 0; begin < n; begin += run) {
    const std::size_t end = std::min(n, begin + run);
    double x = 0, y = 0;
    for (std::size_t i = begin; i < end; ++i) {
      x += series.x[i];
      y += series.y[i];
    }
    averaged.x.push_back(x / static_cast<double>(end - begin));
    averaged.y.push_back(y / static_cast<double>(end - begin));
  }
  return averaged;
}

void keep_nonempty(LineChart& chart) {
  std::erase_if(chart.series, [](const Series& s) { return s.x.empty(); });
}

std::string format(double value, const char* pattern = "%.4f") {
  char text[64];
  std::snprintf(text, sizeof text, pattern, value);
  return text;
}

std::string table_row(const std::vector<std::string>& cells, const char* tag = "td") {
  std::string row = "<tr>";
  for (const auto& cell : cells)
    row += std::string("<") + tag + ">" + xml_escape(cell) + "</" + tag + ">";
  return row + "</tr>\n";
}

std::string scalar_text(const json& value) {
  return value.is_string() ? value.get<std::string>() : value.dump();
}

constexpr const char* kStyle = R"(<style>
body { font-family: sans-serif; margin: 24px auto; max-width: 1100px; color: #222; }
h1 { font-size: 22px; } h2 { font-size: 18px; margin-top: 32px; border-bottom: 1px solid #ccc; }
table { border-collapse: collapse; font-size: 13px; margin: 8px 0; }
td, th { border: 1px solid #ddd; padding: 3px 8px; text-align: right; }
th { background: #f3f3f3; } td:first-child, th:first-child { text-align: left; }
.plots { display: flex; flex-wrap: wrap; gap: 12px; } .plots svg { max-width: 100%; height: auto; }
.summary td { font-size: 15px; }
</style>
)";

}  // namespace

std::vector<json> read_jsonl(const std::string& path) {
  std::vector<json> records;
  std::ifstream in(path);
  std::string line;
  for (std::size_t number = 1; std::getline(in, line); ++number) {
    if (line.empty()) continue;
    try {
      records.push_back(json::parse(line));
    } catch (const json::exception& e) {
      throw std::runtime_error(path + ":" + std::to_string(number) + ": not JSON: " + e.what());
    }
  }
  return records;
}

std::vector<std::string> write_report(const std::string& dir, const ReportInputs& in) {
  const fs::path plots = fs::path(dir) / "plots";
  fs::create_directories(plots);
  std::vector<std::pair<std::string, std::string>> figures;  // file name, SVG

  if (!in.curves.empty() || !in.steps.empty()) {
    LineChart loss{.title = "Loss",
                   .x_label = "optimizer step",
                   .y_label = "cross-entropy",
                   .series = {points(in.steps, "loss", "train step", 5),
                              points(in.curves, "train_loss", "train (epoch mean)", 0),
                              points(in.curves, "valid_loss", "validation", 1)}};
    keep_nonempty(loss);
    figures.emplace_back("loss.svg", to_svg(loss));
    LineChart accuracy{.title = "Accuracy",
                       .x_label = "optimizer step",
                       .y_label = "fraction",
                       .series = {points(in.curves, "train_accuracy", "train (epoch mean)", 0),
                                  points(in.curves, "valid_accuracy", "validation", 1),
                                  points(in.curves, "valid_macro_f1", "validation macro-F1", 2)}};
    keep_nonempty(accuracy);
    figures.emplace_back("accuracy.svg", to_svg(accuracy));
    LineChart lr{.title = "Learning rate",
                 .x_label = "optimizer step",
                 .y_label = "lr",
                 .series = {points(in.steps, "lr", "lr", 0)}};
    keep_nonempty(lr);
    figures.emplace_back("learning_rate.svg", to_svg(lr));
  }

  const json& ev = in.evaluation;
  std::vector<std::string> classes;
  if (!ev.is_null()) {
    classes = ev.at("class_names").get<std::vector<std::string>>();
    const auto counts =
        ev.at("confusion_matrix").at("counts").get<std::vector<std::vector<double>>>();
    Heatmap matrix{.title = "Confusion matrix (counts)",
                   .row_label = "true class",
                   .column_label = "predicted class",
                   .rows = classes,
                   .columns = classes,
                   .values = {},
                   .integers = true};
    Heatmap normalized = matrix;
    normalized.title = "Confusion matrix (each row / its total)";
    normalized.integers = false;
    for (const auto& row : counts) {
      double total = 0;
      for (const double v : row) total += v;
      for (const double v : row) {
        matrix.values.push_back(v);
        normalized.values.push_back(total > 0 ? v / total : 0.0);
      }
    }
    figures.emplace_back("confusion_counts.svg", to_svg(matrix));
    figures.emplace_back("confusion_normalized.svg", to_svg(normalized));
    BarChart bars{.title = "Per-class metrics",
                  .y_label = "score",
                  .categories = classes,
                  .series = {{"precision", {}, {}}, {"recall", {}, {}}, {"F1", {}, {}}}};
    for (const json& c : ev.at("per_class")) {
      bars.series[0].y.push_back(c.at("precision"));
      bars.series[1].y.push_back(c.at("recall"));
      bars.series[2].y.push_back(c.at("f1"));
    }
    figures.emplace_back("per_class.svg", to_svg(bars));
  }

  std::vector<std::string> written;
  for (const auto& [name, svg] : figures) {
    const std::string path = (plots / name).string();
    io::write_file_atomically(path, svg);
    written.push_back(path);
  }

  std::ostringstream html;
  html << "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>"
       << xml_escape(in.title) << "</title>\n"
       << kStyle << "</head><body>\n<h1>" << xml_escape(in.title) << "</h1>\n";
  if (!ev.is_null()) {
    html << "<h2>Evaluation";
    if (ev.contains("split")) html << ": " << xml_escape(scalar_text(ev["split"])) << " split";
    html << "</h2>\n<table class=\"summary\">\n"
         << table_row({"accuracy", format(ev.at("accuracy"))})
         << table_row({"macro F1", format(ev.at("macro_avg").at("f1"))})
         << table_row({"weighted F1", format(ev.at("weighted_avg").at("f1"))});
    if (ev.contains("loss")) html << table_row({"loss", format(ev["loss"])});
    html << table_row({"examples", scalar_text(ev.at("examples"))});
    for (const char* key : {"checkpoint", "data", "step"})
      if (ev.contains(key)) html << table_row({key, scalar_text(ev[key])});
    html << "</table>\n";
  }
  if (!figures.empty()) {
    html << "<h2>Plots</h2>\n<div class=\"plots\">\n";
    for (const auto& [name, svg] : figures)
      html << "<figure id=\"" << name << "\">" << svg << "</figure>\n";
    html << "</div>\n";
  }
  if (!ev.is_null()) {
    html << "<h2>Per-class metrics</h2>\n<table>\n"
         << table_row({"class", "precision", "recall", "F1", "support"}, "th");
    for (const json& c : ev.at("per_class")) {
      html << table_row({c.at("class").get<std::string>(), format(c.at("precision")),
                         format(c.at("recall")), format(c.at("f1")), scalar_text(c.at("support"))});
    }
    for (const char* average : {"macro_avg", "weighted_avg"}) {
      const json& a = ev.at(average);
      html << table_row({average, format(a.at("precision")), format(a.at("recall")),
                         format(a.at("f1")), scalar_text(ev.at("examples"))});
    }
    html << "</table>\n";
  }
  if (!in.curves.empty()) {
    html << "<h2>Validations</h2>\n<table>\n";
    const std::vector<std::string> keys = {"epoch",          "step",       "train_loss",
                                           "train_accuracy", "valid_loss", "valid_accuracy",
                                           "valid_macro_f1", "lr"};
    html << table_row(keys, "th");
    for (const json& r : in.curves) {
      std::vector<std::string> cells;
      for (const auto& key : keys) {
        if (!r.contains(key)) {
          cells.emplace_back();
        } else if (r[key].is_number_integer()) {
          cells.push_back(r[key].dump());
        } else {
          cells.push_back(format(r[key], key == "lr" ? "%.3g" : "%.4f"));
        }
      }
      html << table_row(cells);
    }
    html << "</table>\n";
  }
  if (in.config.is_object()) {
    html << "<h2>Configuration</h2>\n<table>\n" << table_row({"option", "value"}, "th");
    for (const auto& [key, value] : in.config.items()) html << table_row({key, scalar_text(value)});
    html << "</table>\n";
  }
  html << "</body></html>\n";
  const std::string page = (fs::path(dir) / "report.html").string();
  io::write_file_atomically(page, html.str());
  written.push_back(page);
  return written;
}

std::vector<std::string> write_run_report(const std::string& run_dir) {
  const fs::path run(run_dir);
  ReportInputs in;
  in.title = "Training run " + fs::absolute(run).lexically_normal().string();
  if (fs::exists(run / "config.yaml")) {
    // The resolved configuration as flat option -> value (YAML scalars are kept as text).
    const YAML::Node config = YAML::LoadFile((run / "config.yaml").string());
    in.config = json::object();
    for (const auto& entry : config) {
      const YAML::Node& value = entry.second;
      if (value.IsScalar()) {
        in.config[entry.first.as<std::string>()] = value.as<std::string>();
      } else {
        YAML::Emitter flow;
        flow << YAML::Flow << value;
        in.config[entry.first.as<std::string>()] = std::string(flow.c_str());
      }
    }
  }
  in.curves = read_jsonl((run / "curves.jsonl").string());
  in.steps = read_jsonl((run / "steps.jsonl").string());
  if (fs::exists(run / "test_report.json")) {
    std::ifstream file(run / "test_report.json");
    in.evaluation = json::parse(file);
  }
  return write_report(run_dir, in);
}

}  // namespace engine::tracking
