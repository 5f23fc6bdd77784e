#!/usr/bin/env python3
"""Training throughput of the engine (bench_train) against PyTorch (bench_train_torch.py) on
the same machine, same model, batch and thread count, interleaved and repeated; medians with
the spread, the ratio, and our GFLOP/s against the SGEMM rate measured at the same thread count,
interleaved with the config's runs (median against median). "paired ratio" is the median (min..max)
of each rep's ratio, its two sides having run back to back.

Usage: /usr/bin/python3 bench/train_bench.py [--reps 3] [--threads 1 2] [--steps 20]
           [--configs NAME ...]   (only the configs whose name contains one of these)
Both sides get OPENBLAS_NUM_THREADS and OMP_NUM_THREADS set to the thread count (else
OpenBLAS quietly uses every core) and OMP_WAIT_POLICY=PASSIVE. Both use OpenBLAS for their
GEMMs (Debian's PyTorch through libblas.so.3), with the kernels OpenBLAS picks for the CPU unless
OPENBLAS_CORETYPE says otherwise; --openblas-core NAME (e.g. Haswell: AVX2, SkylakeX: AVX-512)
sets it for both sides and for the SGEMM peak.
"""
import argparse
import os
import re
import statistics
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BASE = ["--embed", "128", "--hidden", "256", "--batch-size", "64", "--seq-len", "64"]
CONFIGS = [
    ("LSTM E128 H256", ["--cell", "lstm"]),
    ("GRU E128 H256", ["--cell", "gru"]),
    ("RNN E128 H256", ["--cell", "rnn"]),
    ("LSTM H512", ["--cell", "lstm", "--hidden", "512"]),
    ("LSTM 2-layer bi", ["--cell", "lstm", "--layers", "2", "--bidirectional"]),
    ("LSTM var-len 8..64", ["--cell", "lstm", "--var-len"]),
    ("LSTM inference", ["--cell", "lstm", "--mode", "infer"]),
    ("LSTM batch-1 inference", ["--cell", "lstm", "--mode", "infer", "--batch-size", "1"]),
]


def run(cmd, threads):
    env = dict(os.environ, OPENBLAS_NUM_THREADS=str(threads), OMP_NUM_THREADS=str(threads), OMP_WAIT_POLICY="PASSIVE")
    out = subprocess.run(cmd, capture_output=True, text=True, env=env)
    if out.returncode != 0:
        sys.exit(f"failed: {' '.join(cmd)}\n{out.stderr}")
    values = dict(re.findall(r"(\w+)=([\d.]+)", out.stdout))
    return {k: float(v) for k, v in values.items()}


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--reps", type=int, default=3)
    p.add_argument("--threads", type=int, nargs="*", default=[1, 2])
    p.add_argument("--steps", type=int, default=20)
    p.add_argument("--configs", nargs="*", default=[], help="substrings of config names to run")
    p.add_argument("--build", default=os.path.join(ROOT, os.environ.get("ENGINE_BUILD_DIR", "build")))
    p.add_argument("--openblas-core", default="", help="OPENBLAS_CORETYPE for both sides (default: the environment's)")
    args = p.parse_args()
    if args.openblas_core:  # every run below inherits it: both sides and the SGEMM rate
        os.environ["OPENBLAS_CORETYPE"] = args.openblas_core
    print(f"OpenBLAS kernels: {os.environ.get('OPENBLAS_CORETYPE', 'detected for this CPU')}")
    engine = os.path.join(args.build, "bench", "bench_train")
    torch = ["/usr/bin/python3", os.path.join(ROOT, "bench", "bench_train_torch.py")]
    sgemm = [os.path.join(args.build, "bench", "bench_sgemm"), "2048"]
    for threads in args.threads:
        print(f"threads={threads}: 'of peak' = median engine GFLOP/s / median SGEMM GFLOP/s (2048^3, best of 5"
              f" per run), the SGEMM runs interleaved with each config's reps")
        print(f"  {'config':24s} {'engine samples/s':>24s} {'PyTorch samples/s':>24s} {'ratio':>6s}"
              f" {'paired ratio':>20s} {'GFLOP/s':>8s} {'SGEMM GFLOP/s':>22s} {'of peak':>7s}")
        for name, extra in CONFIGS:
            if args.configs and not any(c in name for c in args.configs):
                continue
            steps = str(args.steps * (10 if "--batch-size" in extra else 1))
            common = BASE + extra + ["--threads", str(threads), "--steps", steps]
            ours, theirs, gflops, peaks = [], [], [], []
            for _ in range(args.reps):  # interleaved, so drifting load hits every side alike
                r = run([engine] + common, threads)
                ours.append(r["samples_per_s"])
                gflops.append(r["gflops"])
                theirs.append(run(torch + common, threads)["samples_per_s"])
                peaks.append(run(sgemm + [str(threads)], threads)["gflops"])
            m_ours, m_theirs = statistics.median(ours), statistics.median(theirs)
            # Each rep's two sides ran back to back, so their ratio sees one state of the machine.
            paired = [a / b for a, b in zip(ours, theirs)]
            g, peak = statistics.median(gflops), statistics.median(peaks)
            print(f"  {name:24s} {m_ours:9.1f} ({min(ours):.0f}..{max(ours):.0f}) {m_theirs:9.1f} ({min(theirs):.0f}..{max(theirs):.0f})"
                  f" {m_ours / m_theirs:6.2f} {statistics.median(paired):8.2f} ({min(paired):.2f}..{max(paired):.2f})"
                  f" {g:8.1f} {peak:8.1f} ({min(peaks):.0f}..{max(peaks):.0f}) {100 * g / peak:6.0f}%")
            sys.stdout.flush()

if __name__ == "__main__":
    main()
