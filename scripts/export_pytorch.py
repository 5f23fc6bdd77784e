#!/usr/bin/env python3
"""Export an engine_train checkpoint (.h5) to a PyTorch state_dict (.pt) and rebuild the model.

Tensor names are already PyTorch's, so the state_dict is the checkpoint's /model group as
tensors. `build_model(config)` gives the matching torch module: nn.Embedding(padding_idx=0) ->
nn.LSTM / nn.GRU / nn.RNN(batch_first, packed input) -> readout (last: h_n of the top layer,
directions concatenated; mean / max over valid steps) -> optional hidden Linear + activation ->
Linear to the classes. Used by tests/pytorch_parity_test.cpp.

Usage: export_pytorch.py CHECKPOINT.h5 OUT.pt
"""
import json
import sys

import h5py
import numpy as np
import torch
from torch import nn


class Classifier(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.c = c
        self.embedding = nn.Embedding(c["vocab_size"], c["embed"], padding_idx=0)
        rnn = {"lstm": nn.LSTM, "gru": nn.GRU, "rnn": nn.RNN}[c["cell"]]
        self.rnn = rnn(c["embed"], c["hidden"], num_layers=c["layers"], bidirectional=c["bidirectional"],
                       batch_first=True)
        features = c["hidden"] * (2 if c["bidirectional"] else 1)
        if c["dense_hidden"] > 0:
            self.hidden = nn.Linear(features, c["dense_hidden"])
            features = c["dense_hidden"]
        self.output = nn.Linear(features, c["classes"])

    def forward(self, tokens, lengths):
        """Returns (logits, padded top-layer outputs [B, T, F], h_n [layers*dirs, B, H])."""
        packed = nn.utils.rnn.pack_padded_sequence(self.embedding(tokens), lengths, batch_first=True,
                                                   enforce_sorted=False)
        out, state = self.rnn(packed)
        h_n = state[0] if isinstance(state, tuple) else state
        padded, _ = nn.utils.rnn.pad_packed_sequence(out, batch_first=True)
        readout = self.c["readout"]
        if readout == "last":
            dirs = 2 if self.c["bidirectional"] else 1
            feature = torch.cat([h_n[-dirs + d] for d in range(dirs)], dim=1)
        else:
            mask = (torch.arange(padded.shape[1])[None, :] < lengths[:, None])[:, :, None]
            if readout == "mean":
                feature = (padded * mask).sum(1) / lengths[:, None].to(padded.dtype)
            else:
                feature = padded.masked_fill(~mask, float("-inf")).max(1).values
        if self.c["dense_hidden"] > 0:
            feature = self.hidden(feature)
            feature = torch.relu(feature) if self.c["dense_activation"] == "relu" else torch.tanh(feature)
        return self.output(feature), padded, h_n


def read_checkpoint(path):
    """(model config dict, state_dict) from an engine_train checkpoint."""
    with h5py.File(path, "r") as f:
        config = json.loads(f.attrs["model_config"])
        state = {}
        for name, dataset in f["model"].items():
            shape = [int(d) for d in dataset.attrs["shape"]]
            state[name] = torch.from_numpy(np.asarray(dataset[:], dtype=np.float32).reshape(shape))
    return config, state


def build_model(path):
    config, state = read_checkpoint(path)
    model = Classifier(config)
    model.load_state_dict(state)
    return model, config


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    model, config = build_model(sys.argv[1])
    torch.save(model.state_dict(), sys.argv[2])
    print(f"wrote {sys.argv[2]}: {config['cell']} classifier, {sum(p.numel() for p in model.parameters())} parameters")
