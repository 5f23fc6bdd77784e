#!/usr/bin/env python3
"""torchtext's basic_english tokenizer (torchtext.data.utils._basic_english_normalize), restated.

The reference our C++ tokenizer is tested against (tests/tokenizer_test.cpp) and the tokenizer of
the Python peer in the prep benchmark. As a script: reads a JSON list of strings from the file
named on the command line and prints a JSON list of token lists.
"""
import json
import re
import sys

_PATTERNS = [r"\'", r"\"", r"\.", r"<br \/>", r",", r"\(", r"\)", r"\!", r"\?", r"\;", r"\:", r"\s+"]
_REPLACEMENTS = [" '  ", "", " . ", " ", " , ", " ( ", " ) ", " ! ", " ? ", " ", " ", " "]
_PATTERNS_DICT = list((re.compile(p), r) for p, r in zip(_PATTERNS, _REPLACEMENTS))


def basic_english(line):
    line = line.lower()
    for pattern_re, replaced_str in _PATTERNS_DICT:
        line = pattern_re.sub(replaced_str, line)
    return line.split()


if __name__ == "__main__":
    with open(sys.argv[1], encoding="utf-8") as f:
        texts = json.load(f)
    json.dump([basic_english(t) for t in texts], sys.stdout, ensure_ascii=False)
