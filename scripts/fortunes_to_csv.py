#!/usr/bin/env python3
"""Turn Debian's fortune files into the default corpus, in AG News layout.

Each fortune file (art, computers, politics, science, sports, ...) is a topic: the class. Every
fortune becomes one row "class","title","description": the title is its first line, the
description the rest. Topics with fewer than --min-per-class fortunes are dropped. The split is
stratified and deterministic: within each class, fortunes are ordered by a hash of their text
and cut into train/valid/test by --fractions, so the same fortune files always give the same CSVs.

Writes OUT/train.csv, OUT/valid.csv, OUT/test.csv and OUT/classes.txt (line k names class k).
"""
import argparse
import csv
import hashlib
import os
import re
import sys

OVERSTRIKE = re.compile(r".\x08")  # nroff-style bold/underline: char, backspace, char


def read_fortunes(path):
    with open(path, "rb") as f:
        raw = f.read().decode("utf-8", errors="replace")
    for entry in re.split(r"^%\s*$", raw, flags=re.MULTILINE):
        text = OVERSTRIKE.sub("", entry).strip("\n")
        lines = [line.rstrip() for line in text.splitlines()]
        if any(line.strip() for line in lines):
            yield lines


def topic_files(directory):
    for name in sorted(os.listdir(directory)):
        path = os.path.join(directory, name)
        # A fortune file is the text beside its strfile index (NAME.dat); NAME.u8 are links.
        if os.path.isfile(path) and not name.endswith((".dat", ".u8")) and os.path.exists(path + ".dat"):
            yield name, path


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--fortunes", default="/usr/share/games/fortunes", help="directory of fortune files")
    parser.add_argument("--out", required=True, help="output directory")
    parser.add_argument("--min-per-class", type=int, default=100, help="drop topics with fewer fortunes")
    parser.add_argument("--fractions", default="0.8,0.1,0.1", help="train,valid,test shares")
    args = parser.parse_args()

    fractions = [float(x) for x in args.fractions.split(",")]
    if len(fractions) != 3 or abs(sum(fractions) - 1) > 1e-9 or min(fractions) < 0:
        sys.exit("--fractions: three non-negative shares that add up to 1")
    if not os.path.isdir(args.fortunes):
        sys.exit(f"{args.fortunes}: no such directory (apt-get install fortunes fortunes-min)")

    topics = {}
    for name, path in topic_files(args.fortunes):
        unique = {}
        for lines in read_fortunes(path):
            unique.setdefault("\n".join(lines), lines)
        if len(unique) >= args.min_per_class:
            topics[name] = list(unique.values())
    if len(topics) < 2:
        sys.exit(f"{args.fortunes}: fewer than two topics with {args.min_per_class}+ fortunes")

    os.makedirs(args.out, exist_ok=True)
    splits = {name: [] for name in ("train", "valid", "test")}
    for index, (topic, entries) in enumerate(sorted(topics.items()), start=1):
        entries.sort(key=lambda lines: hashlib.sha1("\n".join(lines).encode()).hexdigest())
        n_train = round(len(entries) * fractions[0])
        n_valid = round(len(entries) * fractions[1])
        parts = {"train": entries[:n_train], "valid": entries[n_train:n_train + n_valid],
                 "test": entries[n_train + n_valid:]}
        for split, rows in parts.items():
            for lines in rows:
                title = lines[0].strip()
                description = " ".join(line.strip() for line in lines[1:] if line.strip())
                splits[split].append((str(index), title, description))
    for split, rows in splits.items():
        rows.sort(key=lambda row: hashlib.sha1("\x00".join(row).encode()).hexdigest())  # mix classes
        tmp = os.path.join(args.out, split + ".csv.tmp")
        with open(tmp, "w", newline="", encoding="utf-8") as f:
            csv.writer(f, quoting=csv.QUOTE_ALL, lineterminator="\n").writerows(rows)
        os.replace(tmp, os.path.join(args.out, split + ".csv"))
    with open(os.path.join(args.out, "classes.txt"), "w", encoding="utf-8") as f:
        f.write("".join(name + "\n" for name in sorted(topics)))
    counts = ", ".join(f"{split} {len(rows)}" for split, rows in splits.items())
    print(f"[data] fortunes corpus: {len(topics)} classes; {counts} rows -> {args.out}")


if __name__ == "__main__":
    main()
