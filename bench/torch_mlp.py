#!/usr/bin/env python3
"""PyTorch CPU reference for the speed target of docs/PERFORMANCE.md.

Times the same training step that `precisionlab-cli bench` times for
experiments/fashion-mnist-mlp.json: an MLP 784-256-128-10 with ReLU, softmax
cross-entropy, Adam (lr 1e-3), batch 128, fp32 on the CPU. One step is
zero_grad -> forward -> loss -> backward -> optimizer.step on a batch that is
already a tensor (ours also copies the batch into its input tensor, inside the
timed step). With --train-epochs it trains instead and reports test accuracy.
Prints the median step time of --steps steps after --warmup steps.
"""
import argparse
import gzip
import json
import os
import statistics
import sys
import time

import torch


def build_model(sizes):
    layers = []
    for i in range(len(sizes) - 1):
        layers.append(torch.nn.Linear(sizes[i], sizes[i + 1]))
        if i + 2 < len(sizes):
            layers.append(torch.nn.ReLU())
    return torch.nn.Sequential(*layers)


def load_idx(path):
    """An MNIST-format IDX file (gzipped) as a tensor: images scaled to [0, 1], labels as int64."""
    with gzip.open(path, "rb") as f:
        data = f.read()
    magic = int.from_bytes(data[0:4], "big")
    count = int.from_bytes(data[4:8], "big")
    if magic == 0x801:
        return torch.frombuffer(bytearray(data[8:8 + count]), dtype=torch.uint8).long()
    rows, cols = int.from_bytes(data[8:12], "big"), int.from_bytes(data[12:16], "big")
    pixels = torch.frombuffer(bytearray(data[16:16 + count * rows * cols]), dtype=torch.uint8)
    return pixels.view(count, rows * cols).float() / 255.0


def train_accuracy(model, optimizer, loss_fn, folder, epochs, batch):
    """Trains as experiments/fashion-mnist-mlp.json does and returns the test accuracy."""
    x = load_idx(os.path.join(folder, "train-images-idx3-ubyte.gz"))
    y = load_idx(os.path.join(folder, "train-labels-idx1-ubyte.gz"))
    tx = load_idx(os.path.join(folder, "t10k-images-idx3-ubyte.gz"))
    ty = load_idx(os.path.join(folder, "t10k-labels-idx1-ubyte.gz"))
    for epoch in range(epochs):
        order = torch.randperm(x.shape[0])
        for first in range(0, x.shape[0] - batch + 1, batch):  # drop the last partial batch, as ours
            idx = order[first:first + batch]
            optimizer.zero_grad(set_to_none=True)
            loss_fn(model(x[idx]), y[idx]).backward()
            optimizer.step()
        with torch.no_grad():
            accuracy = (model(tx).argmax(1) == ty).float().mean().item()
        print("epoch %d: test accuracy %.4f" % (epoch + 1, accuracy), file=sys.stderr)
    return accuracy


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--batch", type=int, default=128)
    parser.add_argument("--steps", type=int, default=200)
    parser.add_argument("--warmup", type=int, default=20)
    parser.add_argument("--threads", type=int, default=os.cpu_count(),
                        help="intra-op threads (default: all cores, as OpenBLAS uses)")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument("--train-epochs", type=int, default=0,
                        help="instead of timing, train this many epochs on Fashion-MNIST and report test accuracy")
    parser.add_argument("--data", default="/usr/share/datasets/fashion-mnist")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    torch.manual_seed(args.seed)
    torch.set_num_threads(args.threads)
    model = build_model([784, 256, 128, 10])
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    loss_fn = torch.nn.CrossEntropyLoss()
    if args.train_epochs > 0:
        accuracy = train_accuracy(model, optimizer, loss_fn, args.data, args.train_epochs, args.batch)
        print(json.dumps({"framework": "pytorch " + torch.__version__, "epochs": args.train_epochs, "seed": args.seed,
                          "test_accuracy": accuracy}))
        return 0

    # A pool of batches so that the data differ from step to step, as in training.
    pool = [(torch.rand(args.batch, 784), torch.randint(0, 10, (args.batch,))) for _ in range(16)]

    def step(i):
        x, y = pool[i % len(pool)]
        optimizer.zero_grad(set_to_none=True)
        loss = loss_fn(model(x), y)
        loss.backward()
        optimizer.step()
        return loss

    for i in range(args.warmup):
        step(i)
    times = []
    for i in range(args.steps):
        t0 = time.perf_counter()
        step(i)
        times.append((time.perf_counter() - t0) * 1000.0)
    median = statistics.median(times)
    result = {
        "framework": "pytorch " + torch.__version__,
        "threads": torch.get_num_threads(),
        "batch": args.batch,
        "steps": args.steps,
        "median_step_ms": median,
        "samples_per_second": args.batch / (median / 1000.0),
    }
    if args.json:
        print(json.dumps(result))
    else:
        print("pytorch %s, %d threads, batch %d: median step %.3f ms (%.0f samples/s) over %d steps"
              % (torch.__version__, result["threads"], args.batch, median,
                 result["samples_per_second"], args.steps))
    return 0


if __name__ == "__main__":
    sys.exit(main())
