// Charts as standalone SVG documents, drawn by the engine itself so that a run's plots need no
// plotting runtime: line charts (learning curves), heatmaps (confusion matrices) and grouped bar
// charts (per-class metrics). Every mark carries a <title> with its exact value, which browsers
// show on hover and tests read back.
#pragma once

#include <string>
#include <vector>

namespace engine::tracking {

struct Series {
  std::string label;
  std::vector<double> x, y;
  int colour = -1;  // palette index, so a quantity keeps its colour across charts (-1: by order)
};

struct LineChart {
  std::string title, x_label, y_label;
  std::vector<Series> series;
};

struct Heatmap {
  std::string title, row_label, column_label;
  std::vector<std::string> rows, columns;
  std::vector<double> values;  // rows x columns, row-major
  bool integers = true;        // cell text as counts, else as fractions
};

struct BarChart {
  std::string title, y_label;
  std::vector<std::string> categories;  // one group of bars each
  std::vector<Series> series;           // one bar per category each (only y is used)
};

std::string to_svg(const LineChart& chart);
std::string to_svg(const Heatmap& chart);
std::string to_svg(const BarChart& chart);

// Text made safe inside XML/HTML element content and attribute values.
std::string xml_escape(const std::string& text);

}  // namespace engine::tracking
