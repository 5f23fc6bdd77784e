// The run report: SVG charts that carry the values they draw, well-formed XML (checked with
// Python's parser), and report.html with the plots and tables.
#include "tracking/report.h"

#include <gtest/gtest.h>

#include <filesystem>

#include "engine/metrics.h"
#include "test_util.h"
#include "tracking/svg_chart.h"

namespace engine::tracking {
namespace {

std::size_t count(const std::string& text, const std::string& what) {
  std::size_t n = 0;
  for (auto at = text.find(what); at != std::string::npos; at = text.find(what, at + 1)) ++n;
  return n;
}

// Python's XML parser as the judge of well-formedness; prints the element counts asked for.
std::string parse_with_python(const std::string& path, const std::string& tag) {
  const auto result = test::run_command(
      "/usr/bin/python3 -c \"import sys, xml.etree.ElementTree as E; t = E.parse(sys.argv[1]); "
      "print(len(t.getroot().findall('.//{http://www.w3.org/2000/svg}' + sys.argv[2])))\" " +
      path + " " + tag);
  EXPECT_EQ(result.exit_code, 0) << path << ": " << result.output;
  return result.output;
}

TEST(SvgChart, LineChartDrawsEverySeriesWithItsValues) {
  const LineChart chart{
      .title = "Loss <&>",
      .x_label = "step",
      .y_label = "loss",
      .series = {{"train", {1, 2, 3}, {2.5, 1.25, 0.75}}, {"valid \"b\"", {2, 3}, {1.5, 1.0}}}};
  const std::string svg = to_svg(chart);
  EXPECT_EQ(count(svg, "<polyline"), 2u);
  EXPECT_EQ(count(svg, "<circle"), 5u);
  EXPECT_NE(svg.find("<title>train at 2: 1.25</title>"), std::string::npos) << svg;
  EXPECT_NE(svg.find("valid &quot;b&quot; at 3: 1</title>"), std::string::npos);
  EXPECT_NE(svg.find("Loss &lt;&amp;&gt;"), std::string::npos);
  test::ScratchDir dir;
  test::write_file(dir.file("line.svg"), svg);
  EXPECT_EQ(parse_with_python(dir.file("line.svg"), "circle"), "5\n");
}

TEST(SvgChart, LineChartWithoutDataSaysSo) {
  const std::string svg =
      to_svg(LineChart{.title = "t", .x_label = "x", .y_label = "y", .series = {}});
  EXPECT_NE(svg.find("no data yet"), std::string::npos);
  EXPECT_EQ(count(svg, "<polyline"), 0u);
}

TEST(SvgChart, HeatmapHasOneCellPerEntry) {
  const Heatmap map{.title = "cm",
                    .row_label = "true class",
                    .column_label = "predicted class",
                    .rows = {"a", "b"},
                    .columns = {"a", "b"},
                    .values = {7, 1, 0, 12},
                    .integers = true};
  const std::string svg = to_svg(map);
  EXPECT_EQ(count(svg, "class=\"cell\""), 4u);
  EXPECT_NE(svg.find("<title>true class a, predicted class b: 1</title>"), std::string::npos);
  EXPECT_NE(svg.find("<title>true class b, predicted class b: 12</title>"), std::string::npos);
  test::ScratchDir dir;
  test::write_file(dir.file("map.svg"), svg);
  EXPECT_EQ(parse_with_python(dir.file("map.svg"), "rect"), "5\n");  // 4 cells + background
}

TEST(SvgChart, BarChartHasOneBarPerClassAndMetric) {
  const BarChart bars{.title = "per class",
                      .y_label = "score",
                      .categories = {"x", "y", "z"},
                      .series = {{"precision", {}, {1, 0.5, 0.25}}, {"recall", {}, {0, 1, 0.5}}}};
  const std::string svg = to_svg(bars);
  EXPECT_EQ(count(svg, "class=\"bar\""), 6u);
  EXPECT_NE(svg.find("<title>y precision: 0.5</title>"), std::string::npos);
}

TEST(Report, WritesPlotsAndHtmlFromCurvesAndEvaluation) {
  ConfusionMatrix cm(3);
  for (const auto& [label, predicted, times] : std::vector<std::tuple<int, int, int>>{
           {0, 0, 5}, {0, 1, 2}, {1, 1, 6}, {2, 0, 1}, {2, 2, 4}})
    for (int k = 0; k < times; ++k) cm.add(label, predicted);
  nlohmann::json evaluation = cm.report({"World", "Sports", "Sci<Tech>"});
  evaluation["loss"] = 0.75;
  evaluation["split"] = "test";
  ReportInputs in{.title = "run",
                  .config = {{"cell", "lstm"}, {"hidden", 12}},
                  .curves = {{{"epoch", 0},
                              {"step", 10},
                              {"train_loss", 1.0},
                              {"valid_loss", 0.9},
                              {"train_accuracy", 0.5},
                              {"valid_accuracy", 0.6},
                              {"valid_macro_f1", 0.55},
                              {"lr", 0.001}},
                             {{"epoch", 1},
                              {"step", 20},
                              {"train_loss", 0.8},
                              {"valid_loss", 0.85},
                              {"train_accuracy", 0.6},
                              {"valid_accuracy", 0.65},
                              {"valid_macro_f1", 0.6},
                              {"lr", 0.001}}},
                  .steps = {},
                  .evaluation = evaluation};
  for (int s = 1; s <= 20; ++s) in.steps.push_back({{"step", s}, {"loss", 1.0 / s}, {"lr", 0.001}});
  test::ScratchDir dir;
  const auto written = write_report(dir.path().string(), in);
  ASSERT_EQ(written.size(), 7u);
  for (const char* name : {"loss", "accuracy", "learning_rate", "confusion_counts",
                           "confusion_normalized", "per_class"}) {
    const std::string path = dir.file(std::string("plots/") + name + ".svg");
    ASSERT_TRUE(std::filesystem::exists(path)) << path;
    parse_with_python(path, "rect");
  }
  const std::string loss = test::read_file(dir.file("plots/loss.svg"));
  EXPECT_EQ(count(loss, "<polyline"), 3u);  // per step, epoch mean, validation
  EXPECT_EQ(count(loss, "<circle"), 24u);
  EXPECT_NE(loss.find("train step at 4: 0.25<"), std::string::npos);
  const std::string normalized = test::read_file(dir.file("plots/confusion_normalized.svg"));
  EXPECT_NE(normalized.find("true class World, predicted class Sports: 0.285714285714286<"),
            std::string::npos);
  const std::string html = test::read_file(dir.file("report.html"));
  EXPECT_EQ(count(html, "<svg "), 6u);
  EXPECT_NE(html.find("<td>Sci&lt;Tech&gt;</td>"), std::string::npos);
  EXPECT_NE(html.find("<td>0.7500</td>"), std::string::npos);  // loss
  EXPECT_NE(html.find("<td>hidden</td><td>12</td>"), std::string::npos);
  EXPECT_FALSE(std::filesystem::exists(dir.file("report.html.tmp")));
}

TEST(Report, LongRunsAreAveragedIntoAThousandPoints) {
  ReportInputs in{
      .title = "long", .config = nullptr, .curves = {}, .steps = {}, .evaluation = nullptr};
  for (int s = 1; s <= 5000; ++s) in.steps.push_back({{"step", s}, {"loss", s % 2 ? 1.0 : 3.0}});
  test::ScratchDir dir;
  write_report(dir.path().string(), in);
  const std::string loss = test::read_file(dir.file("plots/loss.svg"));
  EXPECT_NE(loss.find("train step, 5-step mean"), std::string::npos);
  const auto points = loss.substr(
      loss.find("points=\""), loss.find("\"/>", loss.find("points=\"")) - loss.find("points=\""));
  EXPECT_EQ(count(points, ","), 1000u);
  EXPECT_FALSE(std::filesystem::exists(dir.file("plots/confusion_counts.svg")));
}

}  // namespace
}  // namespace engine::tracking
