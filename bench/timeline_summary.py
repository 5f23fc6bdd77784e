#!/usr/bin/env python3
"""Where a run's time went, from its `engine_train --timeline` trace: milliseconds per step in
each phase (data wait, forward, backward, allreduce, optimizer), per rank, plus the validations
and checkpoints. Usage: bench/timeline_summary.py TRACE.json
"""
import collections
import json
import sys

PHASES = ("data", "forward", "backward", "allreduce", "optimizer")


def summarise(path):
    """{rank: {phase: mean ms per step}} and {rank: {"validation"/"checkpoint": total ms}}."""
    events = json.load(open(path))["traceEvents"]
    per_step = collections.defaultdict(lambda: collections.defaultdict(float))
    steps = collections.defaultdict(set)
    other = collections.defaultdict(lambda: collections.defaultdict(float))
    for e in events:
        if e.get("ph") != "X":
            continue
        rank = e["pid"]
        if e["cat"] == "step" and e["name"] in PHASES:
            per_step[rank][e["name"]] += e["dur"] / 1e3
            steps[rank].add(e["args"]["step"])
        elif e["cat"] == "run":
            other[rank][e["name"]] += e["dur"] / 1e3
    means = {r: {p: per_step[r][p] / max(len(steps[r]), 1) for p in PHASES} for r in per_step}
    return means, other


def line(means):
    """One line: each phase's mean over ranks."""
    ranks = list(means.values())
    return "  ".join(f"{p} {sum(m[p] for m in ranks) / len(ranks):.2f}" for p in PHASES) + " ms/step"


def main():
    means, other = summarise(sys.argv[1])
    for rank in sorted(means):
        parts = "  ".join(f"{p} {means[rank][p]:7.2f}" for p in PHASES)
        extra = "  ".join(f"{k} {v:.0f} ms" for k, v in sorted(other[rank].items()))
        print(f"rank {rank}: {parts} ms/step   {extra}")


if __name__ == "__main__":
    main()
