#!/usr/bin/env python3
"""Initialization sweep for the default LeNet-5 job, judged on a validation split (never the test set).

Trains pytorch_twin.py's LeNet-5 (Adam 1e-3, batch 64, 10 epochs, mean/std of the 50,000 training images) on 50,000
of Fashion-MNIST's training images and evaluates the other 10,000 (a fixed split: torch.randperm with seed 0) after
every epoch; prints one JSON line with the validation accuracy per epoch. The seed draws the initial weights
(torch.manual_seed(seed)); the sample order comes from seed + 1000, so two schemes with one seed share their batches.
Used to choose `convnet train`'s default initialization (results/2026-11-29-accuracy.md, "Is there a better default?").

  /usr/bin/python3 benchmarks/accuracy/init_sweep.py --seed 1 --scheme pytorch >> sweep.jsonl
  /usr/bin/python3 benchmarks/accuracy/init_sweep.py --summary sweep.jsonl

--scheme picks the initialization:
  pytorch      W, b ~ U(+-1/sqrt(fanIn))                  (PyTorch's default; ours)
  pytorch_b0   W ~ U(+-1/sqrt(fanIn)), b = 0
  half         W, b ~ U(+-0.5/sqrt(fanIn))
  glorot_b0    W ~ U(+-sqrt(6/(fanIn+fanOut))), b = 0     (Keras's default)
  lecun_b0     W ~ U(+-sqrt(3/fanIn)), b = 0
  he_b0        W ~ U(+-sqrt(6/fanIn)), b = 0
"""
import argparse, json, math, os, sys, time
import torch, torch.nn as nn, torch.nn.functional as F
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from pytorch_twin import LeNet5, load, evaluate


def init(model, scheme):
    with torch.no_grad():
        for m in model.modules():
            if not isinstance(m, (nn.Conv2d, nn.Linear)):
                continue
            w = m.weight
            fan_in = w[0].numel()
            fan_out = w.shape[0] * (w[0, 0].numel() if w.dim() > 2 else 1)
            bound = {"pytorch": 1 / math.sqrt(fan_in), "pytorch_b0": 1 / math.sqrt(fan_in),
                     "half": 0.5 / math.sqrt(fan_in), "glorot_b0": math.sqrt(6 / (fan_in + fan_out)),
                     "lecun_b0": math.sqrt(3 / fan_in), "he_b0": math.sqrt(6 / fan_in)}[scheme]
            w.uniform_(-bound, bound)
            if scheme.endswith("_b0"):
                m.bias.zero_()
            else:
                m.bias.uniform_(-bound, bound)


def summarize(path):
    """Per scheme: mean best and last validation accuracy; against "pytorch", the mean paired difference by seed."""
    import statistics as st
    runs = {}
    for line in open(path):
        if line.strip():
            r = json.loads(line)
            runs.setdefault(r["scheme"], {})[r["seed"]] = r
    base = runs.get("pytorch", {})
    for scheme, rs in sorted(runs.items()):
        best = [100 * r["best"] for r in rs.values()]
        last = [100 * r["val_accuracy"][-1] for r in rs.values()]
        line = (f"{scheme:11s} {len(rs):2d} seeds: best {st.mean(best):.2f}% (sd {st.stdev(best) if len(best) > 1 else 0:.2f}), "
                f"last {st.mean(last):.2f}%, epoch 1 {st.mean(100 * r['val_accuracy'][0] for r in rs.values()):.2f}%")
        d = [100 * (rs[s]["best"] - base[s]["best"]) for s in rs if s in base]
        if scheme != "pytorch" and len(d) > 1:
            line += f"; minus pytorch on {len(d)} common seeds {st.mean(d):+.2f} (standard error {st.stdev(d) / len(d) ** 0.5:.2f})"
        print(line)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--seed", type=int, default=42)
    p.add_argument("--scheme", default="pytorch")
    p.add_argument("--epochs", type=int, default=10)
    p.add_argument("--data", default="/usr/share/datasets/fashion-mnist")
    p.add_argument("--summary", help="summarize a file of this script's lines instead of training")
    a = p.parse_args()
    if a.summary:
        return summarize(a.summary)
    torch.set_num_threads(1)
    x, y = load(a.data, "train")
    split = torch.randperm(len(y), generator=torch.Generator().manual_seed(0))
    tr, va = split[:50000], split[50000:]
    flat = x[tr].double()
    mean, std = flat.mean().item(), flat.std(unbiased=False).item()
    x = (x - mean) / std
    tx, ty, vx, vy = x[tr], y[tr], x[va], y[va]
    torch.manual_seed(a.seed)
    model = LeNet5()
    init(model, a.scheme)
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    g = torch.Generator().manual_seed(a.seed + 1000)
    acc = []
    for epoch in range(a.epochs):
        order = torch.randperm(len(ty), generator=g)
        for s in range(0, len(ty), 64):
            idx = order[s:s + 64]
            opt.zero_grad(set_to_none=True)
            F.cross_entropy(model(tx[idx]), ty[idx]).backward()
            opt.step()
        acc.append(evaluate(model, vx, vy)[0])
    print(json.dumps({"scheme": a.scheme, "seed": a.seed, "val_accuracy": acc, "best": max(acc)}), flush=True)


if __name__ == "__main__":
    main()
