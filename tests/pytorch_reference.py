#!/usr/bin/env python3
"""PyTorch's side of tests/pytorch_parity_test.cpp.

Usage: pytorch_reference.py CHECKPOINT.h5 BATCH.json OUT.json
BATCH.json: tokens [B][T] (0-padded), lengths [B], labels [B], label_smoothing, class_weights
(list or null), adam_lr, adam_steps. Writes logits, the summed loss, the padded top-layer
outputs, h_n, every parameter's gradient of the summed loss, and every parameter after
adam_steps Adam steps on the mean loss.
"""
import json
import os
import sys

import torch

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "scripts"))
from export_pytorch import build_model  # noqa: E402

torch.set_num_threads(1)


def loss_sum(model, batch, tokens, lengths, labels):
    logits, padded, h_n = model(tokens, lengths)
    weight = torch.tensor(batch["class_weights"]) if batch["class_weights"] else None
    loss = torch.nn.functional.cross_entropy(logits, labels, weight=weight, reduction="none",
                                             label_smoothing=batch["label_smoothing"])
    return loss.sum(), logits, padded, h_n


def main(checkpoint, batch_path, out_path):
    with open(batch_path) as f:
        batch = json.load(f)
    model, _ = build_model(checkpoint)
    tokens = torch.tensor(batch["tokens"], dtype=torch.long)
    lengths = torch.tensor(batch["lengths"], dtype=torch.long)
    labels = torch.tensor(batch["labels"], dtype=torch.long)

    total, logits, padded, h_n = loss_sum(model, batch, tokens, lengths, labels)
    total.backward()
    result = {
        "logits": logits.detach().tolist(),
        "loss_sum": total.item(),
        "outputs": padded.detach().tolist(),
        "h_n": h_n.detach().tolist(),
        "grads": {name: p.grad.flatten().tolist() for name, p in model.named_parameters()},
    }
    optimizer = torch.optim.Adam(model.parameters(), lr=batch["adam_lr"])
    for _ in range(batch["adam_steps"]):
        optimizer.zero_grad()
        total, _, _, _ = loss_sum(model, batch, tokens, lengths, labels)
        (total / len(batch["labels"])).backward()
        optimizer.step()
    result["after_adam"] = {name: p.detach().flatten().tolist() for name, p in model.named_parameters()}
    with open(out_path, "w") as f:
        json.dump(result, f)


if __name__ == "__main__":
    main(*sys.argv[1:4])
