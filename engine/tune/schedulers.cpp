#include "engine/tune/schedulers.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <stdexcept>

#include "engine/tune/searchers.h"

namespace engine::tune {

using nlohmann::json;

double quantile(std::vector<double> values, double q) {
  std::sort(values.begin(), values.end());
  const double at = q * static_cast<double>(values.size() - 1);
  const auto below = static_cast<std::size_t>(std::floor(at));
  const std::size_t above = std::min(below + 1, values.size() - 1);
  return values[below] + (values[above] - values[below]) * (at - static_cast<double>(below));
}

namespace {

class NoScheduler final : public Scheduler {
 public:
  Decision on_report(const Trial&, int, double, const std::vector<Trial>&) override { return {}; }
};

class Asha final : public Scheduler {
 public:
  Asha(int max_epochs, AshaOptions options) : options_(options) {
    if (options.grace_period < 1 || options.reduction_factor < 2 || options.brackets < 1)
      throw std::invalid_argument(
          "ASHA needs --grace-period >= 1, --reduction-factor >= 2, "
          "--brackets >= 1");
    for (int s = 0; s < options.brackets; ++s) {
      std::vector<int> milestones;
      for (long long m = options.grace_period * ipow(options.reduction_factor, s); m < max_epochs;
           m *= options.reduction_factor)
        milestones.push_back(static_cast<int>(m));
      std::reverse(milestones.begin(), milestones.end());  // highest first, as Ray checks them
      rungs_.push_back(milestones);
    }
  }

  void on_start(Trial& trial) override { trial.bracket = trial.id % options_.brackets; }

  Decision on_report(const Trial& trial, int epoch, double score,
                     const std::vector<Trial>&) override {
    for (const int milestone : rungs_.at(static_cast<std::size_t>(trial.bracket))) {
      auto& recorded = recorded_[key(trial.bracket, milestone)];
      if (epoch < milestone || recorded.contains(std::to_string(trial.id))) continue;
      Decision d;
      if (!recorded.empty()) {
        std::vector<double> values;
        for (const auto& [id, value] : recorded.items()) values.push_back(value.get<double>());
        // Continue only in the top 1/eta of what reached this rung before.
        const double cutoff =
            quantile(values, 1.0 - 1.0 / static_cast<double>(options_.reduction_factor));
        if (score < cutoff) d.action = Action::stop;
      }
      recorded[std::to_string(trial.id)] = score;
      return d;
    }
    return {};
  }

  json state() const override { return recorded_; }
  void restore(const json& state) override {
    if (state.is_object()) recorded_ = state;
  }

 private:
  static long long ipow(long long base, int exponent) {
    long long r = 1;
    while (exponent-- > 0) r *= base;
    return r;
  }
  static std::string key(int bracket, int milestone) {
    return std::to_string(bracket) + "/" + std::to_string(milestone);
  }

  AshaOptions options_;
  std::vector<std::vector<int>> rungs_;  // per bracket, milestones highest first
  json recorded_ = json::object();       // "bracket/milestone" -> {trial id: score}
};

class Pbt final : public Scheduler {
 public:
  Pbt(int max_epochs, PbtOptions options, const SearchSpace& space, std::uint64_t seed)
      : max_epochs_(max_epochs), options_(options), space_(space), seed_(seed) {
    if (options.interval < 1 || options.quantile <= 0 || options.quantile > 0.5)
      throw std::invalid_argument(
          "PBT needs --perturbation-interval >= 1 and 0 < "
          "--quantile-fraction <= 0.5");
  }

  Decision on_report(const Trial& trial, int epoch, double,
                     const std::vector<Trial>& trials) override {
    // The last epoch ends the trial: nothing left to continue.
    if (epoch % options_.interval != 0 || epoch >= max_epochs_) return {};
    // The population: every trial that has reached this epoch, ranked by its score there (so
    // trials are compared after the same amount of training).
    std::vector<std::pair<double, const Trial*>> ranked;
    for (const Trial& t : trials) {
      for (auto at = t.scores.rbegin(); at != t.scores.rend(); ++at) {
        if (at->first == epoch) {
          ranked.emplace_back(at->second, &t);
          break;
        }
      }
    }
    std::stable_sort(ranked.begin(), ranked.end(),
                     [](const auto& a, const auto& b) { return a.first < b.first; });
    auto count =
        static_cast<std::size_t>(std::ceil(static_cast<double>(ranked.size()) * options_.quantile));
    count = std::min(count, ranked.size() / 2);
    if (count == 0) return {};
    const bool bottom = std::any_of(ranked.begin(), ranked.begin() + static_cast<long>(count),
                                    [&](const auto& r) { return r.second->id == trial.id; });
    if (!bottom) return {};
    auto random = trial_random(seed_, trial.id, static_cast<std::uint64_t>(epoch) + 1);
    std::uniform_int_distribution<std::size_t> pick(ranked.size() - count, ranked.size() - 1);
    const Trial& donor = *ranked[pick(random)].second;
    return {.action = Action::exploit,
            .donor = donor.id,
            .donor_epoch = epoch,
            .params = explore(donor.params, random)};
  }

 private:
  json explore(json params, std::mt19937_64& random) const {
    std::uniform_real_distribution<double> unit(0.0, 1.0);
    for (const Parameter& p : space_.parameters()) {
      if (!params.contains(p.name)) continue;
      if (unit(random) < options_.resample_probability) {
        params[p.name] = space_.sample_one(p, random);
        continue;
      }
      const bool up = unit(random) < 0.5;
      if (!p.numeric()) {
        // The neighbouring value in the list.
        const auto at = std::find(p.values.begin(), p.values.end(), params[p.name]);
        auto index = at == p.values.end() ? 0 : at - p.values.begin();
        index = std::clamp<long>(index + (up ? 1 : -1), 0, static_cast<long>(p.values.size()) - 1);
        params[p.name] = p.values[static_cast<std::size_t>(index)];
      } else {
        const double scaled = params[p.name].get<double>() * (up ? 1.2 : 0.8);
        const double v = p.from_unit(p.to_unit(std::clamp(scaled, p.low, p.high)));
        params[p.name] = p.integer() ? json(static_cast<long long>(v)) : json(v);
      }
    }
    return space_.apply_conditions(params);
  }

  int max_epochs_;
  PbtOptions options_;
  SearchSpace space_;  // a copy: the coordinator that owns this may move
  std::uint64_t seed_;
};

}  // namespace

std::unique_ptr<Scheduler> make_scheduler(const std::string& name, int max_epochs,
                                          const AshaOptions& asha, const PbtOptions& pbt,
                                          const SearchSpace& space, std::uint64_t seed) {
  if (name == "none") return std::make_unique<NoScheduler>();
  if (name == "asha") return std::make_unique<Asha>(max_epochs, asha);
  if (name == "pbt") return std::make_unique<Pbt>(max_epochs, pbt, space, seed);
  throw std::invalid_argument("--scheduler " + name + ": expected none, asha or pbt");
}

}  // namespace engine::tune
