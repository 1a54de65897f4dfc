#!/usr/bin/env python3
"""PyTorch on the GPU, the reference the CUDA backend's step time is compared with.

The network and step of `precisionlab-cli bench scripts/gpu/mlp-784-1024-1024-10.json`:
784-1024-1024-10 with ReLU, softmax cross-entropy, Adam (fused=True, lr 1e-3), under
  fp32        every op in fp32, TF32 off
  fp16-amp    torch.autocast(float16) + torch.amp.GradScaler (dynamic scaling)
  bf16-amp    torch.autocast(bfloat16), no scaler
Each step: zero_grad, forward, loss, backward, (unscale, inf check,) optimizer step,
scale update. Step time: CUDA events around each step, median of --steps after
--warmup, the same way the engine's speed benchmark measures (one step at a time).
Inputs: a pool of 4 random batches (never zeros), cycled.

    python3 bench/torch_gpu_mlp.py --batch 512 [--json]
"""
import argparse
import json
import statistics

import torch


def make_model(device):
    return torch.nn.Sequential(
        torch.nn.Flatten(),
        torch.nn.Linear(784, 1024), torch.nn.ReLU(),
        torch.nn.Linear(1024, 1024), torch.nn.ReLU(),
        torch.nn.Linear(1024, 10),
    ).to(device)


def bench(config, batch, steps, warmup, device):
    torch.manual_seed(1)
    model = make_model(device)
    opt = torch.optim.Adam(model.parameters(), lr=1e-3, fused=True)
    loss_fn = torch.nn.CrossEntropyLoss()
    xs = [torch.randn(batch, 1, 28, 28, device=device) for _ in range(4)]
    ys = [torch.randint(0, 10, (batch,), device=device) for _ in range(4)]
    amp_dtype = {"fp16-amp": torch.float16, "bf16-amp": torch.bfloat16}.get(config)
    scaler = torch.amp.GradScaler("cuda") if config == "fp16-amp" else None

    def step(i):
        x, y = xs[i % 4], ys[i % 4]
        opt.zero_grad(set_to_none=True)
        with torch.autocast("cuda", dtype=amp_dtype, enabled=amp_dtype is not None):
            loss = loss_fn(model(x), y)
        if scaler is not None:
            scaler.scale(loss).backward()
            scaler.step(opt)
            scaler.update()
        else:
            loss.backward()
            opt.step()

    for i in range(warmup):
        step(i)
    torch.cuda.synchronize()
    start, stop = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
    times = []
    for i in range(steps):
        start.record()
        step(i)
        stop.record()
        stop.synchronize()
        times.append(start.elapsed_time(stop))
    return statistics.median(times)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--batch", type=int, default=512)
    ap.add_argument("--steps", type=int, default=200)
    ap.add_argument("--warmup", type=int, default=20)
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    torch.backends.cuda.matmul.allow_tf32 = False
    torch.backends.cudnn.allow_tf32 = False
    device = torch.device("cuda")
    results = []
    for config in ["fp32", "fp16-amp", "bf16-amp"]:
        ms = bench(config, args.batch, args.steps, args.warmup, device)
        results.append({"config": config, "batch": args.batch, "median_ms": ms,
                        "samples_per_s": args.batch * 1000.0 / ms})
    if args.json:
        print(json.dumps({"torch": torch.__version__, "device": torch.cuda.get_device_name(), "results": results}))
        return
    print(f"PyTorch {torch.__version__} on {torch.cuda.get_device_name()}")
    print(f"{'config':10} {'batch':>6} {'median ms':>10} {'samples/s':>12}")
    for r in results:
        print(f"{r['config']:10} {r['batch']:6d} {r['median_ms']:10.3f} {r['samples_per_s']:12.0f}")


if __name__ == "__main__":
    main()
