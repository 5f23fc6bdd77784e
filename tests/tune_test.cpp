// engine_tune's logic on cheap synthetic objectives (no training): the search space, grid
// coverage, TPE against random search over many seeds, ASHA's rung decisions, PBT's exploit and
// explore, and the coordinator's saved state.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <functional>
#include <set>

#include "engine/tune/coordinator.h"
#include "engine/tune/search_space.h"

namespace engine::tune {
namespace {

using nlohmann::json;

TuneSettings settings_with(const std::function<void(TuneSettings&)>& edit) {
  TuneSettings settings;
  edit(settings);
  return settings;
}

TEST(SearchSpace, ParsesEveryDistributionAndSamplesInRange) {
  const auto space = SearchSpace::from_yaml_text(R"(
lr: {loguniform: [1.0e-4, 1.0e-1]}
dropout: {uniform: [0.0, 0.5]}
weight-decay: {quniform: [0.0, 0.1, 0.025]}
layers: {randint: [1, 3]}
cell: {choice: [lstm, gru, "rnn"]}
bidirectional: {grid: [true, false]}
)",
                                                 "space.yaml");
  ASSERT_EQ(space.parameters().size(), 6u);
  EXPECT_NE(space.find("weight_decay"), nullptr);  // '-' and '_' both name the option
  std::mt19937_64 random(3);
  std::set<long long> layers;
  for (int i = 0; i < 500; ++i) {
    const json c = space.sample(random);
    EXPECT_GE(c["lr"].get<double>(), 1e-4);
    EXPECT_LE(c["lr"].get<double>(), 1e-1);
    const double wd = c["weight_decay"];
    EXPECT_NEAR(std::round(wd / 0.025) * 0.025, wd, 1e-12);
    layers.insert(c["layers"].get<long long>());
    EXPECT_TRUE(c["bidirectional"].is_boolean());
    EXPECT_TRUE(c["cell"].is_string());
  }
  EXPECT_EQ(layers, (std::set<long long>{1, 2, 3}));  // randint is inclusive
}

TEST(SearchSpace, ErrorsNameTheFileAndKey) {
  const auto message = [](const std::string& text) {
    try {
      SearchSpace::from_yaml_text(text, "s.yaml");
    } catch (const std::invalid_argument& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  EXPECT_EQ(message("lr: {normal: [0, 1]}"),
            "s.yaml: lr: unknown distribution 'normal' (uniform, loguniform, quniform, randint, "
            "choice, grid)");
  EXPECT_EQ(message("lr: {loguniform: [0, 1]}"), "s.yaml: lr: loguniform needs low > 0");
  EXPECT_EQ(message("lr: {uniform: [2, 1]}"), "s.yaml: lr: low must not exceed high");
  EXPECT_EQ(message("x: {choice: [1], when: {y: [2]}}"),
            "s.yaml: x: 'when' names y, which is not in the space");
}

TEST(SearchSpace, AFileKeepsQuotedValuesStrings) {
  const std::string path =
      (std::filesystem::temp_directory_path() / "engine_space_test.yaml").string();
  {
    std::ofstream out(path);
    out << "run_name: {choice: [\"123\", '4.5', plain]}\nhidden: {choice: [64, 128]}\n";
  }
  const auto space = SearchSpace::from_yaml_file(path);
  std::filesystem::remove(path);
  EXPECT_EQ(space.find("run_name")->values,
            (std::vector<json>{json("123"), json("4.5"), json("plain")}));
  EXPECT_EQ(space.find("hidden")->values, (std::vector<json>{json(64), json(128)}));
  EXPECT_THROW(SearchSpace::from_yaml_file(path), std::invalid_argument);  // gone: named error
}

TEST(GridSearcher, CoversTheGridExactlyOnceWithConditions) {
  const auto space = SearchSpace::from_yaml_text(R"(
cell: {grid: [rnn, lstm, gru]}
hidden: {choice: [32, 64]}
layers: {grid: [1, 2], when: {cell: [lstm, gru]}}
lr: {loguniform: [1.0e-4, 1.0e-2]}
)",
                                                 "s");
  Coordinator c(settings_with([&](TuneSettings& s) {
                  s.searcher = "grid";
                  s.num_samples = 100;
                }),
                space);
  std::multiset<std::string> seen;
  for (;;) {
    const Assignment a = c.next(0);
    if (a.what == Assignment::What::done) break;
    ASSERT_EQ(a.what, Assignment::What::start);
    json key = a.params;
    key.erase("lr");
    seen.insert(key.dump());
    c.report(a.trial, 1, 0.5, 0);
    c.finish(a.trial, TrialStatus::finished, 0);
  }
  // rnn: 2 hidden values, no layers; lstm and gru: 2 x 2 each.
  EXPECT_EQ(seen.size(), 10u);
  EXPECT_EQ(std::set<std::string>(seen.begin(), seen.end()).size(), 10u);
  EXPECT_EQ(seen.count(json({{"cell", "rnn"}, {"hidden", 32}}).dump()), 1u);
}

// A smooth objective with its optimum inside the space (lr 10^-2.5, dropout 0.3, hidden 128).
double objective(const json& p) {
  const double lr = std::log10(p["lr"].get<double>()) + 2.5;
  const double dropout = p["dropout"].get<double>() - 0.3;
  const double width = p["hidden"] == 128 ? 0.0 : 0.3;
  return lr * lr + 4 * dropout * dropout + width;
}

double best_found(const std::string& searcher, std::uint64_t seed, int budget) {
  const auto space = SearchSpace::from_yaml_text(R"(
lr: {loguniform: [1.0e-5, 1.0]}
dropout: {uniform: [0.0, 0.9]}
hidden: {choice: [32, 64, 128, 256, 512]}
)",
                                                 "s");
  Coordinator c(settings_with([&](TuneSettings& s) {
                  s.searcher = searcher;
                  s.mode = "min";
                  s.num_samples = budget;
                  s.seed = seed;
                }),
                space);
  double best = INFINITY;
  for (int i = 0; i < budget; ++i) {
    const Assignment a = c.next(0);
    const double loss = objective(a.params);
    best = std::min(best, loss);
    c.report(a.trial, 1, loss, 0);
    c.finish(a.trial, TrialStatus::finished, 0);
  }
  return best;
}

TEST(TpeSearcher, FindsBetterValuesThanRandomForTheSameBudget) {
  std::vector<double> tpe, random;
  int tpe_wins = 0;
  for (std::uint64_t seed = 1; seed <= 15; ++seed) {
    tpe.push_back(best_found("tpe", seed, 40));
    random.push_back(best_found("random", seed, 40));
    tpe_wins += tpe.back() < random.back() ? 1 : 0;
  }
  std::sort(tpe.begin(), tpe.end());
  std::sort(random.begin(), random.end());
  EXPECT_LT(tpe[7], random[7]) << "medians over 15 seeds";
  EXPECT_GE(tpe_wins, 10);
  // Reproducible: the same seed proposes the same trials.
  EXPECT_EQ(best_found("tpe", 4, 30), best_found("tpe", 4, 30));
}

TEST(Asha, StopsTrialsBelowTheTopFractionAtEachRung) {
  const auto space = SearchSpace::from_yaml_text("lr: {uniform: [0, 1]}", "s");
  // eta 2, grace 1, 8 epochs: rungs at epochs 1, 2 and 4.
  Coordinator c(settings_with([&](TuneSettings& s) {
                  s.scheduler = "asha";
                  s.num_samples = 10;
                  s.max_epochs = 8;
                  s.asha = {.grace_period = 1, .reduction_factor = 2, .brackets = 1};
                }),
                space);
  for (int i = 0; i < 4; ++i) c.next(0);
  const auto action = [&](int trial, int epoch, double metric) {
    return c.report(trial, epoch, metric, 0).action;
  };
  EXPECT_EQ(action(0, 1, 0.5), Action::keep_going);  // first at the rung: nothing to beat
  EXPECT_EQ(action(1, 1, 0.3), Action::stop);        // below the median of {0.5}
  EXPECT_EQ(action(2, 1, 0.9), Action::keep_going);  // above the median of {0.5, 0.3}
  EXPECT_EQ(action(3, 1, 0.45), Action::stop);       // below 0.5, the median of {0.5, 0.3, 0.9}
  EXPECT_EQ(action(0, 2, 0.6), Action::keep_going);  // first at epoch 2
  EXPECT_EQ(action(2, 2, 0.55), Action::stop);       // below 0.6
  EXPECT_EQ(action(0, 3, 0.1), Action::keep_going);  // no rung at 3
  EXPECT_EQ(action(0, 4, 0.1), Action::keep_going);  // first at rung 4
}

TEST(Asha, BracketsStartTheirRungsLater) {
  const auto space = SearchSpace::from_yaml_text("lr: {uniform: [0, 1]}", "s");
  Coordinator c(settings_with([&](TuneSettings& s) {
                  s.scheduler = "asha";
                  s.num_samples = 10;
                  s.max_epochs = 9;
                  s.asha = {.grace_period = 1, .reduction_factor = 3, .brackets = 2};
                }),
                space);
  for (int i = 0; i < 4; ++i) c.next(0);
  EXPECT_EQ(c.trials()[1].bracket, 1);
  // Bracket 1's first rung is at epoch 3: epoch 1 decides nothing.
  EXPECT_EQ(c.report(1, 1, 0.9, 0).action, Action::keep_going);
  EXPECT_EQ(c.report(3, 1, 0.1, 0).action, Action::keep_going);
  EXPECT_EQ(c.report(1, 3, 0.9, 0).action, Action::keep_going);
  EXPECT_EQ(c.report(3, 3, 0.1, 0).action, Action::stop);
  // Bracket 0 (trials 0 and 2) has a rung at epoch 1.
  EXPECT_EQ(c.report(0, 1, 0.9, 0).action, Action::keep_going);
  EXPECT_EQ(c.report(2, 1, 0.1, 0).action, Action::stop);
}

TEST(Pbt, TheBottomQuantileCopiesATopTrialAndPerturbsIt) {
  const auto space = SearchSpace::from_yaml_text(R"(
lr: {loguniform: [1.0e-5, 1.0]}
batch_size: {choice: [16, 32, 64, 128]}
)",
                                                 "s");
  Coordinator c(settings_with([&](TuneSettings& s) {
                  s.scheduler = "pbt";
                  s.num_samples = 4;
                  s.max_epochs = 10;
                  s.seed = 5;
                  s.pbt = {.interval = 2, .quantile = 0.25, .resample_probability = 0.0};
                }),
                space);
  for (int i = 0; i < 4; ++i) c.next(0);
  const double scores[] = {0.9, 0.2, 0.5, 0.6};
  for (int t = 0; t < 4; ++t) c.report(t, 1, scores[t], 0);  // epoch 1: not a perturbation epoch
  // Epoch 2 in rising order: each newcomer is better than those before it, so no exploit yet.
  for (int t : {2, 3, 0}) EXPECT_EQ(c.report(t, 2, scores[t], 0).action, Action::keep_going);
  const json before = c.trials()[0].params;
  const Decision d = c.report(1, 2, scores[1], 0);  // the worst of four at epoch 2
  ASSERT_EQ(d.action, Action::exploit);
  EXPECT_EQ(d.donor, 0);  // the top quarter of four is trial 0 alone
  EXPECT_EQ(d.donor_epoch, 2);
  const double ratio = d.params["lr"].get<double>() / before["lr"].get<double>();
  EXPECT_TRUE(std::abs(ratio - 0.8) < 1e-9 || std::abs(ratio - 1.2) < 1e-9) << ratio;
  const std::vector<json> batches = {16, 32, 64, 128};
  const auto at = [&](const json& v) {
    return std::find(batches.begin(), batches.end(), v) - batches.begin();
  };
  EXPECT_EQ(std::abs(at(d.params["batch_size"]) - at(before["batch_size"])), 1) << d.params.dump();
  EXPECT_EQ(c.trials()[1].params, d.params);  // the trial carries on with the new values
  EXPECT_EQ(c.trials()[1].exploits.size(), 1u);
  // Never at the last epoch: there is nothing left to train.
  for (int t : {0, 2, 3}) c.report(t, 10, 1.0, 0);
  EXPECT_EQ(c.report(1, 10, 0.0, 0).action, Action::keep_going);
}

TEST(Coordinator, RestoresItsStateAndResumesInterruptedTrials) {
  const auto space = SearchSpace::from_yaml_text("lr: {loguniform: [1.0e-4, 1.0e-2]}", "s");
  const TuneSettings settings = settings_with([](TuneSettings& s) {
    s.searcher = "tpe";
    s.num_samples = 5;
    s.max_concurrent = 2;
  });
  Coordinator first(settings, space);
  const Assignment a = first.next(0), b = first.next(0);
  EXPECT_EQ(first.next(0).what, Assignment::What::wait);  // two running: the limit
  first.report(a.trial, 1, 0.7, 1);
  first.finish(a.trial, TrialStatus::finished, 2);
  const json saved = first.state();

  Coordinator second(settings, space);
  second.restore(json::parse(saved.dump()));
  const Assignment again = second.next(3);
  EXPECT_EQ(again.what, Assignment::What::start);
  EXPECT_TRUE(again.resume);
  EXPECT_EQ(again.trial, b.trial);
  EXPECT_EQ(again.params, b.params);
  const Assignment fresh = second.next(3);
  EXPECT_EQ(fresh.trial, 2);  // finished trials are not run again
  EXPECT_FALSE(fresh.resume);
  Coordinator other(settings_with([&](TuneSettings& s) {
                      s.searcher = "random";
                      s.num_samples = 5;
                    }),
                    space);
  EXPECT_THROW(other.restore(saved), std::invalid_argument);
}

TEST(Coordinator, StartsNoTrialAfterTheTimeBudget) {
  const auto space = SearchSpace::from_yaml_text("lr: {uniform: [0, 1]}", "s");
  Coordinator c(settings_with([](TuneSettings& s) {
                  s.num_samples = 10;
                  s.time_budget_s = 60;
                }),
                space);
  EXPECT_EQ(c.next(59.0).what, Assignment::What::start);
  EXPECT_EQ(c.next(60.0).what, Assignment::What::done);
  EXPECT_EQ(c.trials().size(), 1u);
}

}  // namespace
}  // namespace engine::tune
