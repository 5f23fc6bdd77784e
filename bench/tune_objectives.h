// Synthetic objectives for comparing searchers (bench/tune_bench.py defines the same ones for
// Optuna): each has a search space in engine_tune's YAML and a loss to minimise.
#pragma once

#include <cmath>
#include <nlohmann/json.hpp>
#include <numbers>
#include <string>

namespace engine::bench {

struct Objective {
  const char* name;
  const char* space_yaml;
  double (*loss)(const nlohmann::json& params);
};

// Branin-Hoo on [-5, 10] x [0, 15]; minimum 0.397887.
inline double branin(const nlohmann::json& p) {
  const double x = p["x"], y = p["y"];
  const double pi = std::numbers::pi;
  const double b = 5.1 / (4 * pi * pi), c = 5 / pi, t = 1 / (8 * pi);
  return std::pow(y - b * x * x + c * x - 6, 2) + 10 * (1 - t) * std::cos(x) + 10;
}

// A learning-rate-like log-scale parameter, a uniform one and a categorical one; minimum 0.
inline double mixed(const nlohmann::json& p) {
  const double lr = std::log10(p["lr"].get<double>()) + 2.5;
  const double dropout = p["dropout"].get<double>() - 0.3;
  const double width = p["hidden"] == 128 ? 0.0 : 0.3;
  return lr * lr + 4 * dropout * dropout + width;
}

// The 4-dimensional Rosenbrock function on [-2, 2]^4; minimum 0.
inline double rosenbrock(const nlohmann::json& p) {
  double sum = 0;
  const double x[4] = {p["a"], p["b"], p["c"], p["d"]};
  for (int i = 0; i < 3; ++i)
    sum += 100 * std::pow(x[i + 1] - x[i] * x[i], 2) + std::pow(1 - x[i], 2);
  return sum;
}

inline const Objective kObjectives[] = {
    {"branin", "x: {uniform: [-5, 10]}\ny: {uniform: [0, 15]}\n", branin},
    {"mixed",
     "lr: {loguniform: [1.0e-5, 1.0]}\ndropout: {uniform: [0.0, 0.9]}\n"
     "hidden: {choice: [32, 64, 128, 256, 512]}\n",
     mixed},
    {"rosenbrock",
     "a: {uniform: [-2, 2]}\nb: {uniform: [-2, 2]}\nc: {uniform: [-2, 2]}\nd: {uniform: [-2, 2]}\n",
     rosenbrock},
};

}  // namespace engine::bench
