#!/usr/bin/env python3
"""GPU training throughput of the engine (bench_gpu: our custom kernels + cuBLAS, and the cuDNN
path) against PyTorch on the same GPU (bench_train_torch.py --device cuda: nn.LSTM/GRU/RNN over
cuDNN), same models and batches as the CPU comparison (bench/train_bench.py), for each
precision: fp16 is PyTorch's autocast + GradScaler; fp32 is strict on both sides (PyTorch's
default would let cuDNN use TF32 tensor cores; --pytorch-tf32 keeps that); against our tf32,
PyTorch's fp32 with TF32 allowed. Each side times --repeats blocks of --steps steps
(training, or forward passes for the inference rows, batch-1 latency included) with the device
synchronised and reports the median; the engine and PyTorch processes alternate
--reps times and the table gives the median of those medians with their spread. Our TFLOP/s
and its fraction of the device's dense peak come from bench_gpu.

Usage: python3 bench/gpu_bench.py [--reps 3] [--precisions fp32 fp16 tf32] [--batch-sizes 64 512]
           [--configs NAME ...]   (only the configs whose name contains one of these)
"""
import argparse
import os
import re
import statistics
import subprocess
import sys

from train_bench import BASE, CONFIGS, ROOT, run

IMPLS = ["custom", "cudnn"]


def run_engine(cmd):
    """bench_gpu's per-implementation lines, `impl=NAME step_ms=... tflops=...`, by NAME."""
    out = subprocess.run(cmd, capture_output=True, text=True)
    if out.returncode != 0:
        sys.exit(f"failed: {' '.join(cmd)}\n{out.stdout}{out.stderr}")
    results = {}
    for line in out.stdout.splitlines():
        if line.startswith("impl="):
            fields = dict(re.findall(r"(\w+)=([\w.]+)", line))
            results[fields["impl"]] = {k: float(v) for k, v in fields.items() if k != "impl"}
    return results


def options(*groups):
    """Flag lists joined, a later group's value for a flag replacing an earlier one's (a flag
    followed by a value, or a flag alone)."""
    merged = {}
    for group in groups:
        i = 0
        while i < len(group):
            has_value = i + 1 < len(group) and not group[i + 1].startswith("--")
            merged[group[i]] = [group[i + 1]] if has_value else []
            i += 2 if has_value else 1
    return [item for flag, value in merged.items() for item in [flag] + value]


def spread(values):
    return f"{statistics.median(values):8.3f} ({min(values):.3f}..{max(values):.3f})"


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--reps", type=int, default=3)
    p.add_argument("--steps", type=int, default=20)
    p.add_argument("--repeats", type=int, default=5)
    p.add_argument("--precisions", nargs="*", default=["fp32", "fp16"])
    p.add_argument("--batch-sizes", type=int, nargs="*", default=[64])
    p.add_argument("--configs", nargs="*", default=[], help="substrings of config names to run")
    p.add_argument("--pytorch-tf32", action="store_true", help="PyTorch's default TF32 math in fp32")
    p.add_argument("--build", default=os.path.join(ROOT, os.environ.get("ENGINE_BUILD_DIR", "build")))
    args = p.parse_args()
    engine = [os.path.join(args.build, "bench", "bench_gpu"), "--rnn-impl"]
    torch = [sys.executable, os.path.join(ROOT, "bench", "bench_train_torch.py"), "--device", "cuda"]
    print("step time in ms: median over --reps processes of each one's median over its repeats (min..max)")
    header = f"  {'config':24s} {'batch':>5s} " + " ".join(f"{name:>24s}" for name in IMPLS + ["PyTorch"])
    print(header + f" {'speed vs PyTorch':>20s} {'TFLOP/s':>8s} {'of peak':>7s}")
    print("  (speed vs PyTorch: PyTorch's step time over our faster implementation's, which is named;"
          " TFLOP/s and peak fraction are that implementation's)")
    for precision in args.precisions:
        print(f"precision={precision}")
        for batch in args.batch_sizes:
            for name, extra in CONFIGS:
                if "--batch-size" in extra and batch != args.batch_sizes[0]:
                    continue  # a config with its own batch size (batch-1 latency) runs once
                if args.configs and not any(c in name for c in args.configs):
                    continue
                steps = args.steps * (10 if "--batch-size" in extra else 1)  # short batch-1 steps
                timing = ["--steps", str(steps), "--repeats", str(args.repeats)]
                common = options(BASE, ["--batch-size", str(batch)], extra, ["--precision", precision], timing)
                shown_batch = int(common[common.index("--batch-size") + 1])
                ms = {impl: [] for impl in IMPLS + ["PyTorch"]}
                tflops, peak = {impl: [] for impl in IMPLS}, {impl: [] for impl in IMPLS}
                for _ in range(args.reps):  # alternate processes, so drift hits both sides alike
                    ours = run_engine(engine + IMPLS + common)
                    for impl in IMPLS:
                        ms[impl].append(ours[impl]["step_ms"])
                        tflops[impl].append(ours[impl]["tflops"])
                        peak[impl].append(ours[impl]["peak_fraction"])
                    if precision == "tf32":  # PyTorch's fp32 with its TF32 allowed
                        theirs = options(common, ["--precision", "fp32"])
                    else:
                        strict = precision == "fp32" and not args.pytorch_tf32
                        theirs = common + (["--strict-fp32"] if strict else [])
                    ms["PyTorch"].append(run(torch + theirs, 1)["step_ms"])
                best = min(IMPLS, key=lambda impl: statistics.median(ms[impl]))
                ratio = statistics.median(ms["PyTorch"]) / statistics.median(ms[best])
                print(f"  {name:24s} {shown_batch:5d} " + " ".join(spread(ms[impl]) for impl in IMPLS + ["PyTorch"])
                      + f" {ratio:13.2f}x {best:6s} {statistics.median(tflops[best]):8.2f}"
                      f" {100 * statistics.median(peak[best]):6.1f}%")
                sys.stdout.flush()


if __name__ == "__main__":
    main()
