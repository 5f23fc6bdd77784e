#include "engine/tune/coordinator.h"

#include <algorithm>
#include <stdexcept>

namespace engine::tune {

using nlohmann::json;

json TuneSettings::to_json() const {
  return {{"searcher", searcher},
          {"scheduler", scheduler},
          {"metric", metric},
          {"mode", mode},
          {"num_samples", num_samples},
          {"max_concurrent", max_concurrent},
          {"time_budget_s", time_budget_s},
          {"max_epochs", max_epochs},
          {"seed", seed},
          {"tpe",
           {{"startup_trials", tpe.startup_trials},
            {"candidates", tpe.candidates},
            {"gamma", tpe.gamma}}},
          {"asha",
           {{"grace_period", asha.grace_period},
            {"reduction_factor", asha.reduction_factor},
            {"brackets", asha.brackets}}},
          {"pbt",
           {{"interval", pbt.interval},
            {"quantile", pbt.quantile},
            {"resample_probability", pbt.resample_probability}}}};
}

TuneSettings TuneSettings::from_json(const json& j) {
  TuneSettings s;
  s.searcher = j.at("searcher");
  s.scheduler = j.at("scheduler");
  s.metric = j.at("metric");
  s.mode = j.at("mode");
  s.num_samples = j.at("num_samples");
  s.max_concurrent = j.at("max_concurrent");
  s.time_budget_s = j.at("time_budget_s");
  s.max_epochs = j.at("max_epochs");
  s.seed = j.at("seed");
  s.tpe = {.startup_trials = j["tpe"]["startup_trials"],
           .candidates = j["tpe"]["candidates"],
           .gamma = j["tpe"]["gamma"]};
  s.asha = {.grace_period = j["asha"]["grace_period"],
            .reduction_factor = j["asha"]["reduction_factor"],
            .brackets = j["asha"]["brackets"]};
  s.pbt = {.interval = j["pbt"]["interval"],
           .quantile = j["pbt"]["quantile"],
           .resample_probability = j["pbt"]["resample_probability"]};
  return s;
}

Coordinator::Coordinator(TuneSettings settings, SearchSpace space)
    : settings_(std::move(settings)), space_(std::move(space)) {
  if (settings_.mode != "max" && settings_.mode != "min")
    throw std::invalid_argument("--mode " + settings_.mode + ": expected max or min");
  if (settings_.num_samples < 1) throw std::invalid_argument("--num-samples must be at least 1");
  searcher_ = make_searcher(settings_.searcher, space_, settings_.seed, settings_.tpe);
  scheduler_ = make_scheduler(settings_.scheduler, settings_.max_epochs, settings_.asha,
                              settings_.pbt, space_, settings_.seed);
}

std::vector<Observation> Coordinator::observations() const {
  std::vector<Observation> seen;
  for (const Trial& t : trials_) {
    if ((t.status == TrialStatus::finished || t.status == TrialStatus::stopped) &&
        !t.scores.empty())
      seen.push_back({t.params, -t.best_score()});
  }
  return seen;
}

Assignment Coordinator::next(double now_s, const std::string& owner) {
  for (Trial& t : trials_) {
    const bool mine = !owner.empty() && t.owner == owner && t.status == TrialStatus::running;
    if (t.status == TrialStatus::interrupted || mine) {
      t.status = TrialStatus::running;
      t.owner = owner;
      return {.what = Assignment::What::start, .trial = t.id, .params = t.params, .resume = true};
    }
  }
  const auto running = std::count_if(trials_.begin(), trials_.end(), [](const Trial& t) {
    return t.status == TrialStatus::running;
  });
  const bool out_of_time = settings_.time_budget_s > 0 && now_s >= settings_.time_budget_s;
  if (exhausted_ || suggested_ >= settings_.num_samples || out_of_time) return {};
  if (settings_.max_concurrent > 0 && running >= settings_.max_concurrent)
    return {.what = Assignment::What::wait, .trial = -1, .params = nullptr, .resume = false};
  const auto params = searcher_->suggest(suggested_, observations());
  if (!params) {
    exhausted_ = true;
    return {};
  }
  Trial t;
  t.id = suggested_++;
  t.params = *params;
  t.started_s = now_s;
  t.owner = owner;
  scheduler_->on_start(t);
  trials_.push_back(t);
  return {.what = Assignment::What::start, .trial = t.id, .params = t.params, .resume = false};
}

Decision Coordinator::report(int trial, int epoch, double metric_value, double now_s) {
  Trial& t = trials_.at(static_cast<std::size_t>(trial));
  const double s = score(metric_value);
  t.scores.emplace_back(epoch, s);
  t.ended_s = now_s;
  Decision d = scheduler_->on_report(t, epoch, s, trials_);
  if (d.action == Action::exploit) {
    t.exploits.push_back({{"epoch", epoch}, {"donor", d.donor}, {"params", d.params}});
    t.params = d.params;
  }
  return d;
}

void Coordinator::finish(int trial, TrialStatus status, double now_s) {
  Trial& t = trials_.at(static_cast<std::size_t>(trial));
  t.status = status;
  t.ended_s = now_s;
}

std::optional<int> Coordinator::best_trial() const {
  std::optional<int> best;
  for (const Trial& t : trials_) {
    if (t.scores.empty()) continue;
    if (!best || t.best_score() > trials_[static_cast<std::size_t>(*best)].best_score())
      best = t.id;
  }
  return best;
}

json Coordinator::state() const {
  json trials = json::array();
  for (const Trial& t : trials_) trials.push_back(t.to_json());
  return {{"settings", settings_.to_json()},
          {"suggested", suggested_},
          {"exhausted", exhausted_},
          {"scheduler", scheduler_->state()},
          {"trials", trials}};
}

void Coordinator::restore(const json& state, Restore how) {
  if (state.at("settings") != settings_.to_json()) {
    throw std::invalid_argument("the tune directory holds a tune with other settings (" +
                                state.at("settings").dump() + ")");
  }
  suggested_ = state.at("suggested");
  exhausted_ = state.at("exhausted");
  scheduler_->restore(state.at("scheduler"));
  trials_.clear();
  for (const json& t : state.at("trials")) {
    trials_.push_back(Trial::from_json(t));
    if (how == Restore::resume && trials_.back().status == TrialStatus::running)
      trials_.back().status = TrialStatus::interrupted;
  }
}

}  // namespace engine::tune
