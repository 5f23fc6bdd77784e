"""The same small real tune with engine_tune and with Ray Tune (PyPI `ray[tune]`): four trials
(a grid over cell x hidden) of 3 epochs on a prepared dataset, two at a time, no early stopping.
engine_tune runs them in-process on `mpirun -np 2` (2 groups of 1 rank); Ray Tune runs each as
an `engine_train` subprocess from a function trainable that reports every epoch's validation
accuracy as curves.jsonl gains it. Wall time to finish, interleaved over repeats.

  python3 -m venv /tmp/rayenv && /tmp/rayenv/bin/pip install "ray[tune]"
  /tmp/rayenv/bin/python bench/tune_ray.py --data data/fortunes-ds [--build build] [--repeats 3]
"""
import argparse
import json
import os
import shutil
import statistics
import subprocess
import tempfile
import time

TRAIN_FLAGS = ["--epochs", "3", "--embed", "16", "--batch-size", "64", "--lr", "0.003", "--quiet"]
GRID = [{"cell": c, "hidden": h} for c in ("lstm", "gru") for h in (16, 24)]


def engine_tune(build, data, scratch):
    space = os.path.join(scratch, "space.yaml")
    with open(space, "w") as f:
        f.write("cell: {grid: [lstm, gru]}\nhidden: {grid: [16, 24]}\n")
    out = os.path.join(scratch, "engine_tune")
    start = time.perf_counter()
    subprocess.run(["mpirun", "-np", "2", "--allow-run-as-root", f"{build}/engine/engine_tune",
                    "--data", data, "--out", out, "--space", space, "--searcher", "grid",
                    "--num-samples", "4", "--metric", "valid_accuracy", *TRAIN_FLAGS],
                   check=True, capture_output=True)
    elapsed = time.perf_counter() - start
    best = json.load(open(os.path.join(out, "results.json")))
    return elapsed, max(t["best"] for t in best["trials"])


def ray_tune(build, data, scratch):
    import ray
    from ray import tune

    def trainable(config):
        out = tempfile.mkdtemp(dir=scratch)
        run = os.path.join(out, "run")
        process = subprocess.Popen([f"{build}/engine/engine_train", "--data", data, "--out", run,
                                    "--cell", config["cell"], "--hidden", str(config["hidden"]),
                                    "--threads", "1", *TRAIN_FLAGS])
        reported = 0
        while True:
            done = process.poll() is not None
            curves = os.path.join(run, "curves.jsonl")
            lines = open(curves).read().splitlines() if os.path.exists(curves) else []
            for line in lines[reported:]:
                tune.report({"valid_accuracy": json.loads(line)["valid_accuracy"]})
            reported = len(lines)
            if done:
                break
            time.sleep(0.05)

    start = time.perf_counter()
    ray.init(num_cpus=2, include_dashboard=False, logging_level="ERROR")
    started = time.perf_counter()
    tuner = tune.Tuner(
        tune.with_resources(trainable, {"cpu": 1}),
        param_space={"cell": tune.grid_search(["lstm", "gru"]), "hidden": tune.grid_search([16, 24])},
        tune_config=tune.TuneConfig(metric="valid_accuracy", mode="max", max_concurrent_trials=2),
        run_config=tune.RunConfig(storage_path=os.path.join(scratch, "ray"), verbose=0))
    results = tuner.fit()
    elapsed = time.perf_counter() - start
    best = results.get_best_result().metrics["valid_accuracy"]
    ray.shutdown()
    return elapsed, best, started - start


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--data", required=True)
    parser.add_argument("--build", default="build")
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    data, build = os.path.abspath(args.data), os.path.abspath(args.build)
    ours, theirs, inits = [], [], []
    for r in range(args.repeats):
        with tempfile.TemporaryDirectory() as scratch:
            seconds, best = engine_tune(build, data, scratch)
            ours.append(seconds)
            print(f"repeat {r}: engine_tune {seconds:.1f} s (best {best:.4f})", flush=True)
        with tempfile.TemporaryDirectory() as scratch:
            seconds, best, init = ray_tune(build, data, scratch)
            theirs.append(seconds)
            inits.append(init)
            print(f"repeat {r}: Ray Tune {seconds:.1f} s, ray.init {init:.1f} s (best {best:.4f})",
                  flush=True)
    print(f"engine_tune median {statistics.median(ours):.1f} s [{min(ours):.1f}, {max(ours):.1f}]; "
          f"Ray Tune median {statistics.median(theirs):.1f} s [{min(theirs):.1f}, {max(theirs):.1f}] "
          f"(of which ray.init {statistics.median(inits):.1f} s); "
          f"ratio {statistics.median(theirs) / statistics.median(ours):.2f}x")


if __name__ == "__main__":
    main()
