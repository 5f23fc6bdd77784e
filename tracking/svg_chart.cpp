#include "tracking/svg_chart.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <limits>
#include <sstream>

namespace engine::tracking {

namespace {

// Colour-blind friendly categorical palette (Okabe-Ito).
constexpr const char* kPalette[] = {"#0072B2", "#D55E00", "#009E73", "#CC79A7",
                                    "#E69F00", "#56B4E9", "#F0E442", "#000000"};
constexpr const char* kFont = "font-family=\"sans-serif\"";

const char* colour(std::size_t index) {
  return kPalette[index % (sizeof kPalette / sizeof kPalette[0])];
}

const char* colour(const std::vector<Series>& series, std::size_t k) {
  return series[k].colour >= 0 ? colour(static_cast<std::size_t>(series[k].colour)) : colour(k);
}

std::string number(double value, int significant = 4) {
  if (value == 0) return "0";
  char text[32];
  std::snprintf(text, sizeof text, "%.*g", significant, value);
  return text;
}

// Coordinates with one decimal: enough for a screen, and small files.
std::string coordinate(double value) {
  char text[32];
  std::snprintf(text, sizeof text, "%.1f", value);
  return text;
}

// About `target` round tick values (1, 2 or 5 times a power of ten) covering [lo, hi].
std::vector<double> nice_ticks(double lo, double hi, int target) {
  const double raw = (hi - lo) / target;
  const double magnitude = std::pow(10.0, std::floor(std::log10(raw)));
  double step = magnitude;
  for (const double m : {1.0, 2.0, 5.0, 10.0}) {
    step = m * magnitude;
    if (step >= raw) break;
  }
  std::vector<double> ticks;
  for (double t = std::ceil(lo / step - 1e-9) * step; t <= hi + step * 1e-9; t += step)
    ticks.push_back(std::abs(t) < step * 1e-9 ? 0.0 : t);
  return ticks;
}

struct Range {
  double lo = std::numeric_limits<double>::infinity();
  double hi = -std::numeric_limits<double>::infinity();
  void add(double v) {
    if (!std::isfinite(v)) return;
    lo = std::min(lo, v);
    hi = std::max(hi, v);
  }
  bool empty() const { return lo > hi; }
  // A flat range becomes +-50% around its value (+-0.5 around zero).
  void widen_if_flat() {
    if (hi - lo > std::abs(hi) * 1e-9 && hi > lo) return;
    const double by = lo == 0 ? 0.5 : std::abs(lo) * 0.5;
    lo -= by;
    hi += by;
  }
};

std::string header(double width, double height, const std::string& title) {
  std::ostringstream s;
  s << "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"" << coordinate(width) << "\" height=\""
    << coordinate(height) << "\" viewBox=\"0 0 " << coordinate(width) << ' ' << coordinate(height)
    << "\" " << kFont << " font-size=\"12\">\n"
    << "<title>" << xml_escape(title) << "</title>\n"
    << "<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n"
    << "<text x=\"" << coordinate(width / 2) << "\" y=\"22\" text-anchor=\"middle\" "
    << "font-size=\"15\" font-weight=\"bold\">" << xml_escape(title) << "</text>\n";
  return s.str();
}

void legend(std::ostringstream& s, const std::vector<Series>& series, double x, double y) {
  for (std::size_t k = 0; k < series.size(); ++k) {
    const double row = y + static_cast<double>(k) * 18;
    s << "<rect x=\"" << coordinate(x) << "\" y=\"" << coordinate(row - 9)
      << "\" width=\"12\" height=\"12\" fill=\"" << colour(series, k) << "\"/>"
      << "<text x=\"" << coordinate(x + 17) << "\" y=\"" << coordinate(row + 1) << "\">"
      << xml_escape(series[k].label) << "</text>\n";
  }
}

std::string shorten(const std::string& text, std::size_t width) {
  return text.size() <= width ? text : text.substr(0, width - 1) + "~";
}

}  // namespace

std::string xml_escape(const std::string& text) {
  std::string out;
  out.reserve(text.size());
  for (const char c : text) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      case '\'':
        out += "&#39;";
        break;
      default:
        out += c;
    }
  }
  return out;
}

std::string to_svg(const LineChart& chart) {
  constexpr double width = 740, height = 400, left = 70, right = 190, top = 40, bottom = 55;
  const double plot_w = width - left - right, plot_h = height - top - bottom;
  Range xs, ys;
  for (const Series& line : chart.series) {
    for (std::size_t i = 0; i < std::min(line.x.size(), line.y.size()); ++i) {
      if (!std::isfinite(line.y[i])) continue;
      xs.add(line.x[i]);
      ys.add(line.y[i]);
    }
  }
  std::ostringstream s;
  s << header(width, height, chart.title);
  if (xs.empty()) {
    s << "<text x=\"" << coordinate(left + plot_w / 2) << "\" y=\"" << coordinate(top + plot_h / 2)
      << "\" text-anchor=\"middle\" fill=\"#666\">no data yet</text>\n</svg>\n";
    return s.str();
  }
  xs.widen_if_flat();
  ys.widen_if_flat();
  const double pad = (ys.hi - ys.lo) * 0.05;
  ys.lo -= pad;
  ys.hi += pad;
  const auto px = [&](double x) { return left + (x - xs.lo) / (xs.hi - xs.lo) * plot_w; };
  const auto py = [&](double y) { return top + plot_h - (y - ys.lo) / (ys.hi - ys.lo) * plot_h; };

  // Grid, ticks and axes.
  for (const double t : nice_ticks(ys.lo, ys.hi, 6)) {
    s << "<line x1=\"" << coordinate(left) << "\" x2=\"" << coordinate(left + plot_w) << "\" y1=\""
      << coordinate(py(t)) << "\" y2=\"" << coordinate(py(t)) << "\" stroke=\"#e5e5e5\"/>"
      << "<text x=\"" << coordinate(left - 6) << "\" y=\"" << coordinate(py(t) + 4)
      << "\" text-anchor=\"end\">" << number(t) << "</text>\n";
  }
  for (const double t : nice_ticks(xs.lo, xs.hi, 7)) {
    s << "<line x1=\"" << coordinate(px(t)) << "\" x2=\"" << coordinate(px(t)) << "\" y1=\""
      << coordinate(top + plot_h) << "\" y2=\"" << coordinate(top + plot_h + 5)
      << "\" stroke=\"#333\"/>"
      << "<text x=\"" << coordinate(px(t)) << "\" y=\"" << coordinate(top + plot_h + 18)
      << "\" text-anchor=\"middle\">" << number(t, 6) << "</text>\n";
  }
  s << "<rect x=\"" << coordinate(left) << "\" y=\"" << coordinate(top) << "\" width=\""
    << coordinate(plot_w) << "\" height=\"" << coordinate(plot_h)
    << "\" fill=\"none\" stroke=\"#333\"/>\n"
    << "<text x=\"" << coordinate(left + plot_w / 2) << "\" y=\"" << coordinate(height - 12)
    << "\" text-anchor=\"middle\">" << xml_escape(chart.x_label) << "</text>\n"
    << "<text transform=\"translate(18 " << coordinate(top + plot_h / 2)
    << ") rotate(-90)\" text-anchor=\"middle\">" << xml_escape(chart.y_label) << "</text>\n";

  // One polyline per series; points get markers with their values while there are few.
  for (std::size_t k = 0; k < chart.series.size(); ++k) {
    const Series& line = chart.series[k];
    const std::size_t n = std::min(line.x.size(), line.y.size());
    s << "<polyline class=\"series\" data-label=\"" << xml_escape(line.label)
      << "\" fill=\"none\" stroke=\"" << colour(chart.series, k)
      << "\" stroke-width=\"2\" points=\"";
    for (std::size_t i = 0; i < n; ++i) {
      if (std::isfinite(line.y[i]))
        s << coordinate(px(line.x[i])) << ',' << coordinate(py(line.y[i])) << ' ';
    }
    s << "\"/>\n";
    if (n > 200) continue;
    for (std::size_t i = 0; i < n; ++i) {
      if (!std::isfinite(line.y[i])) continue;
      s << "<circle cx=\"" << coordinate(px(line.x[i])) << "\" cy=\"" << coordinate(py(line.y[i]))
        << "\" r=\"3\" fill=\"" << colour(chart.series, k) << "\"><title>" << xml_escape(line.label)
        << " at " << number(line.x[i], 9) << ": " << number(line.y[i], 6) << "</title></circle>\n";
    }
  }
  legend(s, chart.series, left + plot_w + 18, top + 10);
  s << "</svg>\n";
  return s.str();
}

std::string to_svg(const Heatmap& chart) {
  const std::size_t rows = chart.rows.size(), columns = chart.columns.size();
  const double cell = std::clamp(
      560.0 / static_cast<double>(std::max<std::size_t>({rows, columns, 1})), 14.0, 48.0);
  std::size_t longest = 1;
  for (const auto& names : {chart.rows, chart.columns})
    for (const auto& name : names)
      longest = std::max(longest, std::min<std::size_t>(name.size(), 18));
  const double label_space = 14 + 7 * static_cast<double>(longest);
  const double left = 30 + label_space, top = 45;
  const double width = left + cell * static_cast<double>(columns) + 30;
  const double height = top + cell * static_cast<double>(rows) + label_space + 30;
  double peak = 0;
  for (const double v : chart.values) peak = std::max(peak, v);
  const bool show_text = cell >= 20;

  std::ostringstream s;
  s << header(width, height, chart.title);
  for (std::size_t r = 0; r < rows; ++r) {
    const double y = top + cell * static_cast<double>(r);
    s << "<text x=\"" << coordinate(left - 6) << "\" y=\"" << coordinate(y + cell / 2 + 4)
      << "\" text-anchor=\"end\">" << xml_escape(shorten(chart.rows[r], 18)) << "</text>\n";
    for (std::size_t c = 0; c < columns; ++c) {
      const double value = chart.values.at(r * columns + c);
      const double intensity = peak > 0 ? value / peak : 0.0;
      // White to dark blue.
      const int red = static_cast<int>(255 - intensity * (255 - 8));
      const int green = static_cast<int>(255 - intensity * (255 - 69));
      const int blue = static_cast<int>(255 - intensity * (255 - 148));
      const double x = left + cell * static_cast<double>(c);
      const std::string text = chart.integers ? number(value, 15) : number(value, 2);
      char fill[8];
      std::snprintf(fill, sizeof fill, "#%02x%02x%02x", red, green, blue);
      s << "<rect class=\"cell\" x=\"" << coordinate(x) << "\" y=\"" << coordinate(y)
        << "\" width=\"" << coordinate(cell) << "\" height=\"" << coordinate(cell) << "\" fill=\""
        << fill << "\" stroke=\"#ddd\"><title>" << xml_escape(chart.row_label) << ' '
        << xml_escape(chart.rows[r]) << ", " << xml_escape(chart.column_label) << ' '
        << xml_escape(chart.columns[c]) << ": " << number(value, 15) << "</title></rect>";
      if (show_text && value != 0) {
        s << "<text x=\"" << coordinate(x + cell / 2) << "\" y=\"" << coordinate(y + cell / 2 + 4)
          << "\" text-anchor=\"middle\" font-size=\"" << (cell >= 34 ? 11 : 9) << "\" fill=\""
          << (intensity > 0.55 ? "white" : "#222") << "\">" << text << "</text>";
      }
      s << '\n';
    }
  }
  const double bottom_edge = top + cell * static_cast<double>(rows);
  for (std::size_t c = 0; c < columns; ++c) {
    const double x = left + cell * static_cast<double>(c) + cell / 2;
    s << "<text transform=\"translate(" << coordinate(x + 4) << ' ' << coordinate(bottom_edge + 8)
      << ") rotate(-45)\" text-anchor=\"end\">" << xml_escape(shorten(chart.columns[c], 18))
      << "</text>\n";
  }
  s << "<text x=\"" << coordinate(left + cell * static_cast<double>(columns) / 2) << "\" y=\""
    << coordinate(height - 10) << "\" text-anchor=\"middle\" font-weight=\"bold\">"
    << xml_escape(chart.column_label) << "</text>\n"
    << "<text transform=\"translate(16 " << coordinate(top + cell * static_cast<double>(rows) / 2)
    << ") rotate(-90)\" text-anchor=\"middle\" font-weight=\"bold\">" << xml_escape(chart.row_label)
    << "</text>\n</svg>\n";
  return s.str();
}

std::string to_svg(const BarChart& chart) {
  const std::size_t groups = chart.categories.size(), bars = chart.series.size();
  const double bar = std::clamp(300.0 / static_cast<double>(std::max<std::size_t>(groups, 1)) /
                                    static_cast<double>(std::max<std::size_t>(bars, 1)),
                                4.0, 18.0);
  const double group = bar * static_cast<double>(bars) + 8;
  std::size_t longest = 1;
  for (const auto& name : chart.categories)
    longest = std::max(longest, std::min<std::size_t>(name.size(), 18));
  const double left = 70, top = 40, plot_h = 260, right = 150;
  const double plot_w = std::max(group * static_cast<double>(groups), 200.0);
  const double width = left + plot_w + right;
  const double height = top + plot_h + 30 + 7 * static_cast<double>(longest);
  double peak = 1;
  for (const Series& series : chart.series)
    for (const double v : series.y) peak = std::max(peak, v);
  const auto py = [&](double y) { return top + plot_h - y / peak * plot_h; };

  std::ostringstream s;
  s << header(width, height, chart.title);
  for (const double t : nice_ticks(0, peak, 5)) {
    s << "<line x1=\"" << coordinate(left) << "\" x2=\"" << coordinate(left + plot_w) << "\" y1=\""
      << coordinate(py(t)) << "\" y2=\"" << coordinate(py(t)) << "\" stroke=\"#e5e5e5\"/>"
      << "<text x=\"" << coordinate(left - 6) << "\" y=\"" << coordinate(py(t) + 4)
      << "\" text-anchor=\"end\">" << number(t) << "</text>\n";
  }
  for (std::size_t g = 0; g < groups; ++g) {
    const double x0 = left + group * static_cast<double>(g) + 4;
    for (std::size_t b = 0; b < bars; ++b) {
      const double value = g < chart.series[b].y.size() ? chart.series[b].y[g] : 0.0;
      s << "<rect class=\"bar\" x=\"" << coordinate(x0 + bar * static_cast<double>(b)) << "\" y=\""
        << coordinate(py(value)) << "\" width=\"" << coordinate(bar - 1) << "\" height=\""
        << coordinate(top + plot_h - py(value)) << "\" fill=\"" << colour(b) << "\"><title>"
        << xml_escape(chart.categories[g]) << ' ' << xml_escape(chart.series[b].label) << ": "
        << number(value, 6) << "</title></rect>\n";
    }
    s << "<text transform=\"translate(" << coordinate(x0 + group / 2) << ' '
      << coordinate(top + plot_h + 12) << ") rotate(-45)\" text-anchor=\"end\">"
      << xml_escape(shorten(chart.categories[g], 18)) << "</text>\n";
  }
  s << "<line x1=\"" << coordinate(left) << "\" x2=\"" << coordinate(left + plot_w) << "\" y1=\""
    << coordinate(top + plot_h) << "\" y2=\"" << coordinate(top + plot_h)
    << "\" stroke=\"#333\"/>\n"
    << "<text transform=\"translate(18 " << coordinate(top + plot_h / 2)
    << ") rotate(-90)\" text-anchor=\"middle\">" << xml_escape(chart.y_label) << "</text>\n";
  legend(s, chart.series, left + plot_w + 18, top + 10);
  s << "</svg>\n";
  return s.str();
}

}  // namespace engine::tracking
