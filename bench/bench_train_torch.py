#!/usr/bin/env python3
"""PyTorch's half of the training benchmark (bench/train_bench.py): the same model, batch and
thread count as bench_train, Embedding -> nn.LSTM/GRU/RNN -> Linear, Adam, cross-entropy.
Variable lengths run through pack_padded_sequence (PyTorch's packed path). With --device cuda
it is the peer of bench_gpu (cuDNN underneath; --precision fp16 is autocast with a GradScaler,
PyTorch's mixed precision; --strict-fp32 turns off the TF32 tensor-core math PyTorch allows
cuDNN by default, so fp32 means what it means in our engine), timed with the device
synchronised. --repeats R times R blocks of --steps and reports the median. Prints `samples_per_s=<x>` last, like bench_train.
"""
import argparse
import contextlib
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
    p.add_argument("--device", default="cpu", choices=["cpu", "cuda"])
    p.add_argument("--precision", default="fp32", choices=["fp32", "fp16"])
    p.add_argument("--repeats", type=int, default=1)
    p.add_argument("--strict-fp32", action="store_true", help="no TF32 in cuDNN or matmuls")
    a = p.parse_args()
    if a.precision == "fp16" and a.device != "cuda":
        p.error("--precision fp16 needs --device cuda")
    torch.set_num_threads(a.threads)
    torch.manual_seed(1)
    device = torch.device(a.device)
    if a.strict_fp32:
        torch.backends.cudnn.allow_tf32 = False
        torch.backends.cuda.matmul.allow_tf32 = False
    rnn_type = {"lstm": nn.LSTM, "gru": nn.GRU, "rnn": nn.RNN}[a.cell]
    embedding = nn.Embedding(a.vocab, a.embed, padding_idx=0)
    rnn = rnn_type(a.embed, a.hidden, num_layers=a.layers, bidirectional=a.bidirectional, batch_first=True)
    dirs = 2 if a.bidirectional else 1
    head = nn.Linear(a.hidden * dirs, 4)
    embedding, rnn, head = embedding.to(device), rnn.to(device), head.to(device)
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
        batches.append((tokens.to(device), lengths, labels.to(device)))
    fp16 = a.precision == "fp16"
    scaler = torch.cuda.amp.GradScaler(enabled=fp16)  # spelled so Debian's older torch has it too
    autocast = (lambda: torch.autocast(device_type="cuda", dtype=torch.float16)) if fp16 else contextlib.nullcontext

    def step(i):
        tokens, lengths, labels = batches[i % len(batches)]
        with autocast():
            x = embedding(tokens)
            if a.var_len:
                x = nn.utils.rnn.pack_padded_sequence(x, lengths, batch_first=True, enforce_sorted=False)
            _, state = rnn(x)
            h_n = state[0] if isinstance(state, tuple) else state
            feature = torch.cat([h_n[-dirs + d] for d in range(dirs)], dim=1)
            loss = nn.functional.cross_entropy(head(feature).float(), labels)
        if a.mode == "infer" and a.device == "cuda":
            loss.item()  # each pass waits for its result, as bench_gpu's does (a served request)
        if a.mode == "train":
            optimizer.zero_grad()
            scaler.scale(loss).backward()
            scaler.step(optimizer)
            scaler.update()

    def synchronize():
        if a.device == "cuda":
            torch.cuda.synchronize()

    context = torch.no_grad() if a.mode == "infer" else torch.enable_grad()
    with context:
        for i in range(a.warmup):
            step(i)
        timings = []
        for _ in range(a.repeats):
            synchronize()
            start = time.perf_counter()
            for i in range(a.steps):
                step(i)
            synchronize()
            timings.append(time.perf_counter() - start)
    seconds = sorted(timings)[len(timings) // 2]
    print(f"steps={a.steps} seconds={seconds:.4f} step_ms={1000 * seconds / a.steps:.3f}"
          f" min_ms={1000 * min(timings) / a.steps:.3f} max_ms={1000 * max(timings) / a.steps:.3f}")
    print(f"samples_per_s={a.steps * a.batch_size / seconds:.1f}")


if __name__ == "__main__":
    main()
