#!/usr/bin/env python3
"""Data-parallel scaling: samples/s of `mpirun -np N engine_train` (N = 1, 2, 4; this machine
has 2 cores, so 4 ranks oversubscribe them), the communication time per step each rank spends
in reductions (not hidden behind compute), our allreduce against a bare MPI_Allreduce of the
same size (bench_allreduce, nccl-tests' busbw), and a projection to 1-64 nodes. Each run's --timeline trace says where its step time goes
(bench/timeline_summary.py).

Projection (a model, not a measurement): one step = compute t_c (measured here per rank, or
--gpu-step-ms for a GPU) + a ring allreduce of the gradient arena, G bytes over N ranks:
t_ar = 2(N-1)/N * G / B + 2(N-1) * alpha, link bandwidth B (25/100/400 Gb/s between nodes;
NVLink-class inside a node is taken as free), alpha = 10 us per ring hop. Without overlap the
efficiency is t_c / (t_c + t_ar). With overlap, as the engine buckets (CPU: a communication
thread; GPU: NCCL's stream), only the gradients final before backward ends can hide: the
classifier's and the recurrent layers' (1.3 MiB), behind the rest of backward (taken as 2/3 of
t_c); the embedding's is final only at the very end, so its reduction is always exposed. On the
CPU path the engine sums only the embedding rows some rank touched (comm/touched_rows.h), so the
exposed part is that fraction of the 10 MiB, measured here on this dataset for nodes x 8 ranks
of --batch-size sequences (random batches, averaged): t_c / (t_c + t_ar(touched embedding rows)
+ max(0, t_ar(rest) - 2/3 t_c)). Weak scaling: the per-rank batch stays fixed.

Usage: /usr/bin/python3 bench/scaling_bench.py [--steps 40] [--gpu-step-ms 5]
"""
import argparse
import glob
import random
import os
import re
import shutil
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "bench"))
import timeline_summary  # noqa: E402
MPI = ["mpirun", "--oversubscribe", "--mca", "btl", "self,vader,tcp", "--mca", "btl_tcp_if_include", "lo",
       "--mca", "oob_tcp_if_include", "lo"]
if os.geteuid() == 0:
    MPI.append("--allow-run-as-root")


def run(cmd):
    out = subprocess.run(cmd, capture_output=True, text=True)
    if out.returncode != 0:
        sys.exit(f"failed: {' '.join(cmd)}\n{out.stdout}\n{out.stderr}")
    return {k: float(v) for k, v in re.findall(r"(\w+)=([\d.]+)", out.stdout + out.stderr)}


def touched_fraction(dataset, vocab, sequences, samples=20):
    """Mean fraction of the vocabulary's rows that `sequences` random training examples touch."""
    import h5py
    import numpy as np
    docs = []
    for shard in sorted(glob.glob(os.path.join(dataset, "train", "*.h5"))):
        with h5py.File(shard, "r") as f:
            tokens, offsets = f["tokens"][:], f["offsets"][:]
            docs += [tokens[offsets[i]:offsets[i + 1]] for i in range(len(offsets) - 1)]
    rng = random.Random(1)
    fractions = []
    for _ in range(samples):
        picked = [docs[rng.randrange(len(docs))] for _ in range(sequences)]
        fractions.append(len(np.unique(np.concatenate(picked))) / vocab)
    return sum(fractions) / len(fractions)


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--steps", type=int, default=40)
    p.add_argument("--batch-size", type=int, default=32, help="per rank")
    p.add_argument("--gpu-step-ms", type=float, default=None, help="assumed GPU compute time per step for the projection")
    p.add_argument("--build", default=os.path.join(ROOT, os.environ.get("ENGINE_BUILD_DIR", "build")))
    a = p.parse_args()
    bin_dir = os.path.join(a.build, "engine")
    work = tempfile.mkdtemp(prefix="engine_scaling_")
    try:
        subprocess.run([os.path.join(bin_dir, "engine_synth_csv"), "--out", f"{work}/train.csv", "--rows", "40000",
                        "--classes", "4", "--seed", "2"], check=True, stderr=subprocess.DEVNULL)
        subprocess.run([os.path.join(bin_dir, "engine_prep"), "--train", f"{work}/train.csv", "--out", f"{work}/ds",
                        "--max-size", "20000", "--quiet"], check=True)
        print(f"default LSTM (Embedding(20000,128) -> LSTM(128,256) -> Linear), {a.batch_size} examples per rank per step, "
              f"{a.steps} steps, 1 thread per rank")
        base = None
        step_ms_single = None
        for ranks in (1, 2, 4):
            out = f"{work}/run{ranks}"
            r = run(["mpirun", "-np", str(ranks)] + MPI[1:] + [os.path.join(bin_dir, "engine_train"), "--data", f"{work}/ds",
                     "--out", out, "--epochs", "1", "--max-steps", str(a.steps), "--batch-size", str(a.batch_size),
                     "--threads", "1", "--log-every", "0", "--bucket-batches", "0",
                     "--timeline", f"{work}/trace{ranks}.json"])
            shutil.rmtree(out, ignore_errors=True)
            phases, _ = timeline_summary.summarise(f"{work}/trace{ranks}.json")
            sps, comm = r["samples_per_s"], r["comm_s"]
            step_ms = 1e3 * r["train_s"] / a.steps
            if base is None:
                base, step_ms_single = sps, step_ms
            print(f"  ranks={ranks}: {sps:8.1f} samples/s  speed-up {sps / base:4.2f}  step {step_ms:7.1f} ms"
                  f"  exposed communication {1e3 * comm / a.steps:6.1f} ms/step ({100 * comm / r['train_s']:.0f}%)")
            print(f"           where time goes (timeline, mean over ranks): {timeline_summary.line(phases)}")
        for ranks in (2, 4):
            r = run(["mpirun", "-np", str(ranks)] + MPI[1:] + [os.path.join(a.build, "bench", "bench_allreduce"), "11.3"])
            print(f"  allreduce 11.3 MiB, {ranks} ranks: ours {r['ours_ms']:.2f} ms ({r['ours_busbw_gbs']:.2f} GB/s busbw), "
                  f"bare MPI_Allreduce {r['bare_ms']:.2f} ms ({r['bare_busbw_gbs']:.2f} GB/s busbw)")

        grad_bytes = 11.3 * 2**20
        embedding_bytes = 20000 * 128 * 4  # final only when backward ends
        touched = {nodes: touched_fraction(f"{work}/ds", 20000, nodes * 8 * a.batch_size)
                   for nodes in (1, 2, 4, 8, 16, 32, 64)}
        print("embedding rows touched per step (nodes x 8 ranks x {} sequences): ".format(a.batch_size) +
              ", ".join(f"{n}: {100 * f:.0f}%" for n, f in touched.items()))
        for label, t_c in (("measured CPU step", step_ms_single / 1e3),) + \
                (((f"assumed GPU step {a.gpu_step_ms} ms", a.gpu_step_ms / 1e3),) if a.gpu_step_ms else ()):
            print(f"projection ({label}: t_c = {1e3 * t_c:.1f} ms; gradients {grad_bytes / 2**20:.1f} MiB; alpha 10 us/hop):")
            print("  nodes x 8 GPUs | " + " | ".join(f"{g:>3} Gb/s: no overlap / overlap" for g in (25, 100, 400)))
            for nodes in (1, 2, 4, 8, 16, 32, 64):
                cells = []
                for gbps in (25, 100, 400):
                    n = nodes  # the ring between nodes carries the traffic; inside a node is taken as free
                    def ring(size):
                        return 0.0 if n == 1 else 2 * (n - 1) / n * size / (gbps * 1e9 / 8) + 2 * (n - 1) * 10e-6
                    plain = t_c / (t_c + ring(grad_bytes))
                    exposed = ring(touched[nodes] * embedding_bytes) + \
                        max(0.0, ring(grad_bytes - embedding_bytes) - 2 / 3 * t_c)
                    overlapped = t_c / (t_c + exposed)
                    cells.append(f"{100 * plain:5.1f}% / {100 * overlapped:5.1f}%")
                print(f"  {nodes:>5}          | " + " | ".join(f"{c:>30}" for c in cells))
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
