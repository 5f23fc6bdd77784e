#!/usr/bin/env python3
"""engine_prep throughput and memory against a plain-Python peer (bench/prep_python_baseline.py).

On synthetic AG News layout files of growing size (memory must stay flat as they grow) and on
the default fortunes corpus. Both sides run on the same file in the same run, interleaved, --reps
times; we print medians with the spread (min..max), MB/s, rows/s, peak RSS (/usr/bin/time) and
the ratio. Usage: /usr/bin/python3 bench/prep_bench.py --sizes 100M 300M 1G --reps 3
Needs a build (bash scripts/setup.sh) and about 2x the largest size free under --work.
"""
import argparse
import csv
import os
import statistics
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def timed(cmd, work):
    """Runs cmd; returns (seconds, peak RSS in MiB) as /usr/bin/time reports them."""
    log = os.path.join(work, "time.log")
    result = subprocess.run(["/usr/bin/time", "-f", "%e %M", "-o", log] + cmd,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    if result.returncode != 0:
        sys.exit(f"failed: {' '.join(cmd)}\n{result.stderr}")
    seconds, kib = open(log).read().split()[-2:]
    return float(seconds), int(kib) / 1024


def count_rows(path):
    csv.field_size_limit(1 << 30)
    with open(path, newline="", encoding="utf-8") as f:
        return sum(1 for _ in csv.reader(f))


def run_case(name, path, args, extra=()):
    size = os.path.getsize(path)
    rows = count_rows(path)
    prep = os.path.join(args.build, "engine", "engine_prep")
    out = os.path.join(args.work, "ds")
    sides = {
        "engine_prep 1 thread": [prep, "--train", path, "--out", out, "--force", "--quiet", "--threads", "1", *extra],
        "engine_prep 2 threads": [prep, "--train", path, "--out", out, "--force", "--quiet", "--threads", "2", *extra],
        "python baseline": ["/usr/bin/python3", os.path.join(ROOT, "bench", "prep_python_baseline.py"), path],
    }
    results = {side: [] for side in sides}
    for _ in range(args.reps):  # interleaved, so drifting machine load hits every side alike
        for side, cmd in sides.items():
            results[side].append(timed(cmd, args.work))
    print(f"{name}: {size / 1e6:.1f} MB, {rows} rows")
    medians = {}
    for side, runs in results.items():
        secs = [s for s, _ in runs]
        medians[side] = statistics.median(secs)
        rss = max(r for _, r in runs)
        print(f"  {side:22s} {medians[side]:8.2f} s ({min(secs):.2f}..{max(secs):.2f})"
              f" {size / 1e6 / medians[side]:8.1f} MB/s {rows / medians[side]:10.0f} rows/s  peak RSS {rss:7.1f} MiB")
    py = medians["python baseline"]
    print(f"  speed-up vs python: {py / medians['engine_prep 1 thread']:.1f}x at 1 thread, "
          f"{py / medians['engine_prep 2 threads']:.1f}x at 2 threads")
    sys.stdout.flush()


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", nargs="*", default=["100M", "300M", "1G"])
    parser.add_argument("--reps", type=int, default=3)
    parser.add_argument("--build", default=os.path.join(ROOT, os.environ.get("ENGINE_BUILD_DIR", "build")))
    parser.add_argument("--work", default="/tmp/engine_prep_bench")
    args = parser.parse_args()
    os.makedirs(args.work, exist_ok=True)
    cpu = subprocess.run(["lscpu"], capture_output=True, text=True).stdout
    model = next((l.split(":", 1)[1].strip() for l in cpu.splitlines() if l.startswith("Model name")), "?")
    print(f"machine: {os.cpu_count()} cores, {model}; {time.strftime('%Y-%m-%d')}; reps={args.reps}")
    for size in args.sizes:
        path = os.path.join(args.work, f"synthetic-{size}.csv")
        if not os.path.exists(path):
            subprocess.run([os.path.join(args.build, "engine", "engine_synth_csv"), "--out", path, "--size", size,
                            "--classes", "4", "--seed", "1"], check=True, stderr=subprocess.DEVNULL)
        run_case(f"synthetic {size}", path, args)
    fortunes = os.path.join(ROOT, "data", "fortunes")
    if not os.path.exists(os.path.join(fortunes, "train.csv")):
        subprocess.run(["/usr/bin/python3", os.path.join(ROOT, "scripts", "fortunes_to_csv.py"), "--out", fortunes],
                       check=True, stdout=subprocess.DEVNULL)
    run_case("fortunes train.csv", os.path.join(fortunes, "train.csv"), args)


if __name__ == "__main__":
    main()
