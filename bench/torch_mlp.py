#!/usr/bin/env python3
"""PyTorch CPU reference for the speed target of docs/PERFORMANCE.md.

Times the same training step that `precisionlab-cli bench` times for
experiments/fashion-mnist-mlp.json: an MLP 784-256-128-10 with ReLU, softmax
cross-entropy, Adam (lr 1e-3), batch 128, fp32 on the CPU. One step is
zero_grad -> forward -> loss -> backward -> optimizer.step on a batch that is
already in memory (as ours is: the batch upload is timed in both).
Prints the median step time of --steps steps after --warmup steps.
"""
import argparse
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


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--batch", type=int, default=128)
    parser.add_argument("--steps", type=int, default=200)
    parser.add_argument("--warmup", type=int, default=20)
    parser.add_argument("--threads", type=int, default=os.cpu_count(),
                        help="intra-op threads (default: all cores, as OpenBLAS uses)")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    args = parser.parse_args()

    torch.manual_seed(0)
    torch.set_num_threads(args.threads)
    model = build_model([784, 256, 128, 10])
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    loss_fn = torch.nn.CrossEntropyLoss()
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
