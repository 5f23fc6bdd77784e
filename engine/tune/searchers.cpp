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

// A Parzen estimator over several parameters at once (multivariate TPE, as Optuna's default):
// one kernel per observation, the product of a kernel per parameter, plus a prior kernel.
// Numbers live on [0, 1] (Parameter::to_unit): a truncated Gaussian at the observation with the
// larger gap to its neighbours as bandwidth (the outermost ones: their inner gap), clipped to
// [1 / min(100, kernels + 1), 1]; the prior is N(0.5, 1). Choices: the observed value's weight
// plus 1/kernels spread over all values, normalised; the prior is uniform.
class JointParzen {
 public:
  // `configs` in the order the trials ended: beyond 25, older ones weigh less (a linear ramp
  // from 1/n, as Optuna's default weights), so the model follows where the search has moved.
  JointParzen(const std::vector<const Parameter*>& dims, const std::vector<const json*>& configs)
      : dims_(dims), kernels_(configs.size() + 1) {
    const std::size_t n = configs.size();
    for (std::size_t i = 0; i < n; ++i) {
      const std::size_t ramp = n > 25 ? n - 25 : 0;
      weights_.push_back(i >= ramp || ramp < 2
                             ? 1.0
                             : 1.0 / static_cast<double>(n) + (1.0 - 1.0 / static_cast<double>(n)) *
                                                                  static_cast<double>(i) /
                                                                  static_cast<double>(ramp - 1));
    }
    weights_.push_back(1.0);  // the prior
    double total = 0;
    for (const double w : weights_) total += w;
    for (double& w : weights_) w /= total;
    for (const Parameter* p : dims) {
      Dim d;
      if (p->numeric()) {
        std::vector<double> points;
        for (const json* c : configs) points.push_back(p->to_unit((*c)[p->name].get<double>()));
        d.mus = points;
        d.sigmas = bandwidths(points);
        d.mus.push_back(0.5);
        d.sigmas.push_back(1.0);
      } else {
        const std::size_t K = p->values.size();
        const double spread = 1.0 / static_cast<double>(kernels_);
        for (const json* c : configs) {
          std::vector<double> w(K, spread);
          const auto at = std::find(p->values.begin(), p->values.end(), (*c)[p->name]);
          if (at != p->values.end()) w[static_cast<std::size_t>(at - p->values.begin())] += 1;
          double row = 0;
          for (const double x : w) row += x;
          for (double& x : w) x /= row;
          d.probabilities.push_back(w);
        }
        d.probabilities.emplace_back(K, 1.0 / static_cast<double>(K));
      }
      dims_data_.push_back(std::move(d));
    }
  }

  // One point: a unit value per numeric parameter, a value index per choice.
  std::vector<double> sample(std::mt19937_64& random) const {
    const std::size_t k =
        std::discrete_distribution<std::size_t>(weights_.begin(), weights_.end())(random);
    std::vector<double> x;
    for (const Dim& d : dims_data_) {
      if (d.probabilities.empty()) {
        std::normal_distribution<double> normal(d.mus[k], d.sigmas[k]);
        double v = std::clamp(d.mus[k], 0.0, 1.0);
        for (int tries = 0; tries < 100; ++tries) {
          const double draw = normal(random);
          if (draw >= 0 && draw <= 1) {
            v = draw;
            break;
          }
        }
        x.push_back(v);
      } else {
        const auto& w = d.probabilities[k];
        x.push_back(static_cast<double>(
            std::discrete_distribution<std::size_t>(w.begin(), w.end())(random)));
      }
    }
    return x;
  }

  double log_density(const std::vector<double>& x) const {
    std::vector<double> logs;
    for (const double w : weights_) logs.push_back(std::log(w));
    for (std::size_t j = 0; j < dims_data_.size(); ++j) {
      const Dim& d = dims_data_[j];
      for (std::size_t k = 0; k < kernels_; ++k) {
        if (d.probabilities.empty()) {
          const double z = (x[j] - d.mus[k]) / d.sigmas[k];
          const double mass = cdf((1 - d.mus[k]) / d.sigmas[k]) - cdf(-d.mus[k] / d.sigmas[k]);
          logs[k] += -0.5 * z * z - std::log(d.sigmas[k] * std::sqrt(2 * std::numbers::pi) * mass);
        } else {
          logs[k] += std::log(d.probabilities[k][static_cast<std::size_t>(x[j])]);
        }
      }
    }
    const double top = *std::max_element(logs.begin(), logs.end());
    double sum = 0;
    for (const double l : logs) sum += std::exp(l - top);
    return top + std::log(sum);
  }

  json value(std::size_t j, double x) const {
    const Parameter& p = *dims_[j];
    if (!p.numeric()) return p.values[static_cast<std::size_t>(x)];
    const double v = p.from_unit(x);
    return p.integer() ? json(static_cast<long long>(v)) : json(v);
  }

 private:
  struct Dim {
    std::vector<double> mus, sigmas;                 // numbers
    std::vector<std::vector<double>> probabilities;  // choices: per kernel
  };
  static double cdf(double z) { return 0.5 * std::erfc(-z / std::numbers::sqrt2); }
  std::vector<double> bandwidths(const std::vector<double>& points) const {
    std::vector<std::size_t> order(points.size());
    for (std::size_t i = 0; i < order.size(); ++i) order[i] = i;
    std::sort(order.begin(), order.end(), [&](auto a, auto b) { return points[a] < points[b]; });
    const std::size_t n = points.size();
    const double floor = 1.0 / std::min(100.0, static_cast<double>(kernels_) + 1.0);
    std::vector<double> sigmas(n);
    for (std::size_t r = 0; r < n; ++r) {
      const double at = points[order[r]];
      const double left = at - (r == 0 ? 0.0 : points[order[r - 1]]);
      const double right = (r + 1 == n ? 1.0 : points[order[r + 1]]) - at;
      double sigma = std::max(left, right);
      if (n >= 2 && r == 0) sigma = right;
      if (n >= 2 && r + 1 == n) sigma = left;
      sigmas[order[r]] = std::clamp(sigma, floor, 1.0);
    }
    return sigmas;
  }

  std::vector<const Parameter*> dims_;
  std::size_t kernels_;
  std::vector<double> weights_;  // per kernel, summing to 1
  std::vector<Dim> dims_data_;
};

class TpeSearcher final : public Searcher {
 public:
  TpeSearcher(const SearchSpace& space, std::uint64_t seed, TpeOptions options)
      : space_(space), seed_(seed), options_(options) {}

  std::optional<json> suggest(int index, const std::vector<Observation>& history) override {
    auto random = trial_random(seed_, index);
    if (static_cast<int>(history.size()) < options_.startup_trials) return space_.sample(random);
    history_ = &history;
    std::vector<const Observation*> sorted;
    for (const auto& o : history) sorted.push_back(&o);
    std::stable_sort(sorted.begin(), sorted.end(),
                     [](const Observation* a, const Observation* b) { return a->loss < b->loss; });
    // The good group: the best gamma * n, at most 25 (Optuna's default split).
    const auto good_count = static_cast<std::size_t>(
        std::clamp(std::ceil(options_.gamma * static_cast<double>(sorted.size())), 1.0, 25.0));
    // Parameters every observation has are modelled jointly; conditional ones each on its own,
    // over the observations that have it.
    std::vector<const Parameter*> joint;
    json config = json::object();
    for (const Parameter& p : space_.parameters()) {
      const bool everywhere = std::all_of(sorted.begin(), sorted.end(), [&](const Observation* o) {
        return o->params.contains(p.name);
      });
      if (everywhere) {
        joint.push_back(&p);
      } else {
        choose({&p}, sorted, good_count, random, config);
      }
    }
    if (!joint.empty()) choose(joint, sorted, good_count, random, config);
    return space_.apply_conditions(config);
  }

 private:
  // Sets `dims` in `config` to the candidate drawn from l that maximises l(x) / g(x).
  void choose(const std::vector<const Parameter*>& dims,
              const std::vector<const Observation*>& sorted, std::size_t good_count,
              std::mt19937_64& random, json& config) const {
    // The best good_count observations that have these parameters are the good group; both
    // groups keep the order in which the trials ended.
    std::set<const Observation*> good_set;
    for (const Observation* o : sorted) {
      if (good_set.size() == good_count) break;
      if (o->params.contains(dims.front()->name)) good_set.insert(o);
    }
    std::vector<const json*> good, bad;
    for (const Observation& o : *history_) {
      if (!o.params.contains(dims.front()->name)) continue;
      (good_set.contains(&o) ? good : bad).push_back(&o.params);
    }
    if (good.empty() || bad.empty()) {
      for (const Parameter* p : dims) config[p->name] = space_.sample_one(*p, random);
      return;
    }
    const JointParzen l(dims, good), g(dims, bad);
    std::vector<double> best;
    double best_score = -INFINITY;
    for (int c = 0; c < options_.candidates; ++c) {
      std::vector<double> x = l.sample(random);
      const double score = l.log_density(x) - g.log_density(x);
      if (score > best_score) {
        best_score = score;
        best = std::move(x);
      }
    }
    for (std::size_t j = 0; j < dims.size(); ++j) config[dims[j]->name] = l.value(j, best[j]);
  }

  SearchSpace space_;  // a copy: the coordinator that owns this may move
  std::uint64_t seed_;
  TpeOptions options_;
  const std::vector<Observation>* history_ = nullptr;  // during suggest()
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
