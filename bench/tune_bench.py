"""engine_tune's searchers against Optuna's (PyPI `optuna`) on the same synthetic objectives
(bench/tune_objectives.h) and budgets: the best value found (median and quartiles over seeds)
and each side's own time per trial (proposing, recording and, for engine_tune, saving its state
to a file as it does after every change; the objective itself is not counted).

  build/pyenv/bin/pip install optuna        # once
  build/pyenv/bin/python bench/tune_bench.py [--build build] [--budget 50] [--seeds 20]
"""
import argparse
import json
import math
import statistics
import subprocess
import time

import optuna


def branin(p):
    x, y = p["x"], p["y"]
    b, c, t = 5.1 / (4 * math.pi ** 2), 5 / math.pi, 1 / (8 * math.pi)
    return (y - b * x * x + c * x - 6) ** 2 + 10 * (1 - t) * math.cos(x) + 10


def mixed(p):
    lr = math.log10(p["lr"]) + 2.5
    dropout = p["dropout"] - 0.3
    return lr * lr + 4 * dropout * dropout + (0.0 if p["hidden"] == 128 else 0.3)


def rosenbrock(p):
    x = [p["a"], p["b"], p["c"], p["d"]]
    return sum(100 * (x[i + 1] - x[i] ** 2) ** 2 + (1 - x[i]) ** 2 for i in range(3))


SPACES = {
    "branin": (branin, lambda t: {"x": t.suggest_float("x", -5, 10), "y": t.suggest_float("y", 0, 15)}),
    "mixed": (mixed, lambda t: {
        "lr": t.suggest_float("lr", 1e-5, 1.0, log=True),
        "dropout": t.suggest_float("dropout", 0.0, 0.9),
        "hidden": t.suggest_categorical("hidden", [32, 64, 128, 256, 512])}),
    "rosenbrock": (rosenbrock, lambda t: {k: t.suggest_float(k, -2, 2) for k in "abcd"}),
}


def optuna_run(objective, sampler, budget):
    loss, space = SPACES[objective]
    study = optuna.create_study(direction="minimize", sampler=sampler)
    overhead, best = 0.0, math.inf
    for _ in range(budget):
        start = time.perf_counter()
        trial = study.ask()
        params = space(trial)
        overhead += time.perf_counter() - start
        value = loss(params)
        best = min(best, value)
        start = time.perf_counter()
        study.tell(trial, value)
        overhead += time.perf_counter() - start
    return best, 1000 * overhead / budget


def quartiles(values):
    q = statistics.quantiles(values, n=4)
    return statistics.median(values), q[0], q[2]


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--build", default="build")
    parser.add_argument("--budget", type=int, default=50)
    parser.add_argument("--seeds", type=int, default=20)
    args = parser.parse_args()
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    print(f"budget {args.budget} trials, {args.seeds} seeds; best value: median [quartiles]; "
          "lower is better")
    print(f"{'objective':11} {'searcher':22} {'best value':32} {'ms/trial':>9}")
    for objective in SPACES:
        rows = []
        for searcher in ("tpe", "random"):
            out = subprocess.run(
                [f"{args.build}/bench/bench_tune", "--objective", objective, "--searcher", searcher,
                 "--budget", str(args.budget), "--seeds", str(args.seeds)],
                check=True, capture_output=True, text=True).stdout
            runs = [json.loads(line) for line in out.splitlines()]
            rows.append((f"engine_tune {searcher}", [r["best"] for r in runs],
                         statistics.median(r["overhead_ms_per_trial"] for r in runs)))
        for name, make in (("optuna TPESampler", lambda s: optuna.samplers.TPESampler(seed=s)),
                           ("optuna RandomSampler", lambda s: optuna.samplers.RandomSampler(seed=s))):
            results = [optuna_run(objective, make(seed), args.budget) for seed in range(1, args.seeds + 1)]
            rows.append((name, [r[0] for r in results], statistics.median(r[1] for r in results)))
        for name, bests, overhead in rows:
            median, low, high = quartiles(bests)
            print(f"{objective:11} {name:22} {median:10.4g} [{low:.4g}, {high:.4g}]{'':8} {overhead:9.2f}")


if __name__ == "__main__":
    main()
