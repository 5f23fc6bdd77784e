#include "engine/tune/searchers.h"

#include <algorithm>
#include <cmath>
#include <numbers>
#include <set>
#include <stdexcept>

namespace engine::tune {

using nlohmann::json;

std::mt19937_64 trial_random(std::uint64_t seed, int index, std::uint64_t stream) {
  std::seed_seq sequence{static_cast<std::uint32_t>(seed), static_cast<std::uint32_t>(seed >> 32),
                         static_cast<std::uint32_t>(index), static_cast<std::uint32_t>(stream)};
  return std::mt19937_64(sequence);
}

namespace {

class RandomSearcher final : public Searcher {
 public:
  RandomSearcher(const SearchSpace& space, std::uint64_t seed) : space_(space), seed_(seed) {}
  std::optional<json> suggest(int index, const std::vector<Observation>&) override {
    auto random = trial_random(seed_, index);
    return space_.sample(random);
  }

 private:
  SearchSpace space_;  // a copy: the coordinator that owns this may move
  std::uint64_t seed_;
};

class GridSearcher final : public Searcher {
 public:
  GridSearcher(const SearchSpace& space, std::uint64_t seed) : space_(space), seed_(seed) {
    // Conditions can make grid points equal (a parameter dropped for some values of another):
    // each distinct configuration once.
    std::set<std::string> seen;
    for (const json& point : space.grid_points()) {
      const json kept = space.apply_conditions(point);
      if (seen.insert(kept.dump()).second) points_.push_back(point);
    }
  }
  std::optional<json> suggest(int index, const std::vector<Observation>&) override {
    if (index >= static_cast<int>(points_.size())) return std::nullopt;
    auto random = trial_random(seed_, index);
    json config = points_[static_cast<std::size_t>(index)];
    for (const auto& p : space_.parameters())
      if (p.numeric()) config[p.name] = space_.sample_one(p, random);
    return space_.apply_conditions(config);
  }

 private:
  SearchSpace space_;  // a copy: the coordinator that owns this may move
  std::uint64_t seed_;
  std::vector<json> points_;
};

// A Parzen estimator on [0, 1]: truncated Gaussians at the observations plus a broad prior,
// each with a bandwidth from its neighbours' distances (as in hyperopt's TPE).
class Parzen {
 public:
  explicit Parzen(std::vector<double> points) {
    points.push_back(0.5);  // the prior's centre
    std::sort(points.begin(), points.end());
    const double n = static_cast<double>(points.size());
    const double floor = 1.0 / std::min(100.0, n + 1);
    for (std::size_t i = 0; i < points.size(); ++i) {
      const double left = i == 0 ? points[i] : points[i] - points[i - 1];
      const double right = i + 1 == points.size() ? 1.0 - points[i] : points[i + 1] - points[i];
      mus_.push_back(points[i]);
      sigmas_.push_back(std::clamp(std::max(left, right), floor, 1.0));
    }
    // The prior is wide: it keeps every region possible.
    const auto prior = std::find(mus_.begin(), mus_.end(), 0.5) - mus_.begin();
    sigmas_[static_cast<std::size_t>(prior)] = 1.0;
  }

  double sample(std::mt19937_64& random) const {
    std::uniform_int_distribution<std::size_t> pick(0, mus_.size() - 1);
    const std::size_t k = pick(random);
    std::normal_distribution<double> normal(mus_[k], sigmas_[k]);
    for (int tries = 0; tries < 100; ++tries) {
      const double x = normal(random);
      if (x >= 0 && x <= 1) return x;
    }
    return std::clamp(mus_[k], 0.0, 1.0);
  }

  double log_density(double x) const {
    double sum = 0;
    for (std::size_t k = 0; k < mus_.size(); ++k) {
      const double z = (x - mus_[k]) / sigmas_[k];
      const double mass = cdf((1 - mus_[k]) / sigmas_[k]) - cdf(-mus_[k] / sigmas_[k]);
      sum += std::exp(-0.5 * z * z) / (sigmas_[k] * std::sqrt(2 * std::numbers::pi) * mass);
    }
    return std::log(sum / static_cast<double>(mus_.size()) + 1e-300);
  }

 private:
  static double cdf(double z) { return 0.5 * std::erfc(-z / std::numbers::sqrt2); }
  std::vector<double> mus_, sigmas_;
};

class TpeSearcher final : public Searcher {
 public:
  TpeSearcher(const SearchSpace& space, std::uint64_t seed, TpeOptions options)
      : space_(space), seed_(seed), options_(options) {}

  std::optional<json> suggest(int index, const std::vector<Observation>& history) override {
    auto random = trial_random(seed_, index);
    if (static_cast<int>(history.size()) < options_.startup_trials) return space_.sample(random);
    std::vector<const Observation*> sorted;
    for (const auto& o : history) sorted.push_back(&o);
    std::stable_sort(sorted.begin(), sorted.end(),
                     [](const Observation* a, const Observation* b) { return a->loss < b->loss; });
    const auto good_count = static_cast<std::size_t>(
        std::max(1.0, std::ceil(options_.gamma * static_cast<double>(sorted.size()))));
    json config = json::object();
    for (const Parameter& p : space_.parameters()) {
      std::vector<json> good, bad;
      for (std::size_t i = 0; i < sorted.size(); ++i) {
        if (!sorted[i]->params.contains(p.name)) continue;
        (i < good_count ? good : bad).push_back(sorted[i]->params[p.name]);
      }
      config[p.name] = good.empty() || bad.empty() ? space_.sample_one(p, random)
                       : p.numeric()               ? numeric(p, good, bad, random)
                                                   : categorical(p, good, bad, random);
    }
    return space_.apply_conditions(config);
  }

 private:
  json numeric(const Parameter& p, const std::vector<json>& good, const std::vector<json>& bad,
               std::mt19937_64& random) const {
    const auto units = [&](const std::vector<json>& values) {
      std::vector<double> u;
      for (const auto& v : values) u.push_back(p.to_unit(v.get<double>()));
      return u;
    };
    const Parzen l(units(good)), g(units(bad));
    double best = 0, best_score = -INFINITY;
    for (int c = 0; c < options_.candidates; ++c) {
      const double x = l.sample(random);
      const double score = l.log_density(x) - g.log_density(x);
      if (score > best_score) {
        best_score = score;
        best = x;
      }
    }
    const double v = p.from_unit(best);
    return p.integer() ? json(static_cast<long long>(v)) : json(v);
  }

  json categorical(const Parameter& p, const std::vector<json>& good, const std::vector<json>& bad,
                   std::mt19937_64& random) const {
    // Smoothed frequencies (one pseudo-count per value) in each group.
    const auto weights = [&](const std::vector<json>& values) {
      std::vector<double> w(p.values.size(), 1.0);
      for (const auto& v : values) {
        const auto at = std::find(p.values.begin(), p.values.end(), v);
        if (at != p.values.end()) w[static_cast<std::size_t>(at - p.values.begin())] += 1;
      }
      double total = 0;
      for (double x : w) total += x;
      for (double& x : w) x /= total;
      return w;
    };
    const auto l = weights(good), g = weights(bad);
    std::discrete_distribution<std::size_t> draw(l.begin(), l.end());
    std::size_t best = 0;
    double best_score = -INFINITY;
    for (int c = 0; c < options_.candidates; ++c) {
      const std::size_t k = draw(random);
      const double score = std::log(l[k]) - std::log(g[k]);
      if (score > best_score) {
        best_score = score;
        best = k;
      }
    }
    return p.values[best];
  }

  SearchSpace space_;  // a copy: the coordinator that owns this may move
  std::uint64_t seed_;
  TpeOptions options_;
};

}  // namespace

std::unique_ptr<Searcher> make_searcher(const std::string& name, const SearchSpace& space,
                                        std::uint64_t seed, const TpeOptions& tpe) {
  if (name == "grid") return std::make_unique<GridSearcher>(space, seed);
  if (name == "random") return std::make_unique<RandomSearcher>(space, seed);
  if (name == "tpe") return std::make_unique<TpeSearcher>(space, seed, tpe);
  throw std::invalid_argument("--searcher " + name + ": expected grid, random or tpe");
}

}  // namespace engine::tune
