#!/usr/bin/env python3
"""Plain-Python peer of engine_prep for bench/prep_bench.sh.

Does a subset of engine_prep's job, so the ratio it gives is conservative: the csv module reads
the file, torchtext's basic_english regexes tokenize "title description", a Counter builds the
vocabulary, and every row is turned into ids. It does no HTML/backslash cleaning and writes
no shards. Prints one line: rows=<n> tokens=<n> vocab=<n> seconds=<s> peak_rss_mib=<m>.
"""
import csv
import os
import resource
import sys
import time
from collections import Counter

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from basic_english import basic_english  # noqa: E402

def main(path):
    csv.field_size_limit(1 << 30)
    start = time.perf_counter()
    counts = Counter()
    rows = tokens = 0
    with open(path, newline="", encoding="utf-8") as f:
        for row in csv.reader(f):
            words = basic_english(row[1] + " " + row[2])
            counts.update(words)
            rows += 1
            tokens += len(words)
    itos = ["<pad>", "<unk>"] + [w for w, _ in sorted(counts.items(), key=lambda x: (-x[1], x[0]))]
    stoi = {w: i for i, w in enumerate(itos)}
    # Second pass: ids, as a loader would need them.
    with open(path, newline="", encoding="utf-8") as f:
        for row in csv.reader(f):
            ids = [stoi.get(w, 1) for w in basic_english(row[1] + " " + row[2])]
    seconds = time.perf_counter() - start
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"rows={rows} tokens={tokens} vocab={len(itos)} seconds={seconds:.3f} peak_rss_mib={peak:.1f}")


if __name__ == "__main__":
    main(sys.argv[1])
