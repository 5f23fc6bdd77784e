#!/usr/bin/env python3
"""PyTorch's half of the training benchmark (bench/train_bench.py): the same model, batch and
thread count as bench_train, Embedding -> nn.LSTM/GRU/RNN -> Linear, Adam, cross-entropy.
Variable lengths run through pack_padded_sequence (PyTorch's packed path). Prints
`samples_per_s=<x>` last, like bench_train.
"""
import argparse
import time

import torch
from torch import nn


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--cell", default="lstm")
    p.add_argument("--embed", type=int, default=128)
    p.add_argument("--hidden", type=int, default=256)
    p.add_argument("--layers", type=int, default=1)
    p.add_argument("--bidirectional", action="store_true")
    p.add_argument("--batch-size", type=int, default=64)
    p.add_argument("--seq-len", type=int, default=64)
    p.add_argument("--var-len", action="store_true")
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--steps", type=int, default=20)
    p.add_argument("--warmup", type=int, default=3)
    p.add_argument("--vocab", type=int, default=20000)
    p.add_argument("--mode", default="train", choices=["train", "infer"])
    a = p.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(1)
    rnn_type = {"lstm": nn.LSTM, "gru": nn.GRU, "rnn": nn.RNN}[a.cell]
    embedding = nn.Embedding(a.vocab, a.embed, padding_idx=0)
    rnn = rnn_type(a.embed, a.hidden, num_layers=a.layers, bidirectional=a.bidirectional, batch_first=True)
    dirs = 2 if a.bidirectional else 1
    head = nn.Linear(a.hidden * dirs, 4)
    params = list(embedding.parameters()) + list(rnn.parameters()) + list(head.parameters())
    optimizer = torch.optim.Adam(params, lr=1e-3)
    g = torch.Generator().manual_seed(7)
    batches = []
    for _ in range(8):
        if a.var_len:
            lengths = torch.randint(8, a.seq_len + 1, (a.batch_size,), generator=g)
        else:
            lengths = torch.full((a.batch_size,), a.seq_len)
        tokens = torch.randint(2, a.vocab, (a.batch_size, a.seq_len), generator=g)
        tokens = tokens * (torch.arange(a.seq_len)[None, :] < lengths[:, None])
        labels = torch.randint(0, 4, (a.batch_size,), generator=g)
        batches.append((tokens, lengths, labels))

    def step(i):
        tokens, lengths, labels = batches[i % len(batches)]
        x = embedding(tokens)
        if a.var_len:
            x = nn.utils.rnn.pack_padded_sequence(x, lengths, batch_first=True, enforce_sorted=False)
        _, state = rnn(x)
        h_n = state[0] if isinstance(state, tuple) else state
        feature = torch.cat([h_n[-dirs + d] for d in range(dirs)], dim=1)
        loss = nn.functional.cross_entropy(head(feature), labels)
        if a.mode == "train":
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()

    context = torch.no_grad() if a.mode == "infer" else torch.enable_grad()
    with context:
        for i in range(a.warmup):
            step(i)
        start = time.perf_counter()
        for i in range(a.steps):
            step(i)
        seconds = time.perf_counter() - start
    print(f"steps={a.steps} seconds={seconds:.4f} step_ms={1000 * seconds / a.steps:.3f}")
    print(f"samples_per_s={a.steps * a.batch_size / seconds:.1f}")


if __name__ == "__main__":
    main()
