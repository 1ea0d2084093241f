"""PyTorch's training throughput on one thread: the baseline `make bench` sets beside
FedKeeper's Go training (bench/training.go).

    torch_training.py KIND HIDDEN IMAGES LABELS BATCH LR

IMAGES holds float32 pixels (784 per example), LABELS one byte per example, both as Go
wrote them. Each line read from stdin runs one measured pass and answers one JSON line,
{"seconds": …, "samples": …}, so the Go side can interleave its own passes with these
and both meet the same load from the rest of the machine. A pass is what a client pays:
the seed's model built fresh (fedkeeper.pytorch.build_model), then one epoch of SGD in
batches in a fresh random order, the last batch smaller.
"""

import json
import sys
import time

import numpy as np
import torch

from fedkeeper.pytorch import build_model
from fedkeeper.task import ModelSpec

torch.set_num_threads(1)


def one_pass(spec, images, labels, batch, lr, generator):
    start = time.perf_counter()
    module = build_model(spec)
    module.train()
    optimizer = torch.optim.SGD(module.parameters(), lr=lr)
    n = len(labels)
    order = torch.randperm(n, generator=generator)
    for first in range(0, n, batch):
        idx = order[first:first + batch]
        optimizer.zero_grad()
        loss = torch.nn.functional.cross_entropy(module(images[idx]), labels[idx])
        loss.backward()
        optimizer.step()
        if not torch.isfinite(loss):
            raise SystemExit(f"training diverged: loss {float(loss)}")
    return time.perf_counter() - start


def main():
    kind, hidden, images_path, labels_path, batch, lr = sys.argv[1:7]
    labels = torch.from_numpy(np.fromfile(labels_path, dtype=np.uint8).astype(np.int64))
    images = torch.from_numpy(np.fromfile(images_path, dtype=np.float32).reshape(len(labels), 784))
    spec = ModelSpec(kind=kind, hidden=int(hidden))
    generator = torch.Generator().manual_seed(1)
    print(json.dumps({"ready": True, "threads": torch.get_num_threads()}), flush=True)
    for _ in sys.stdin:
        seconds = one_pass(spec, images, labels, int(batch), float(lr), generator)
        print(json.dumps({"seconds": seconds, "samples": len(labels)}), flush=True)


if __name__ == "__main__":
    main()
