#!/usr/bin/env python3
"""PyTorch twin of `convnet train`'s defaults, for the accuracy comparison of benchmarks/accuracy/README.md.

The same job as `convnet train` with no options: the modern LeNet-5 (conv 6@5x5 pad 2, ReLU, max-pool 2; conv 16@5x5,
ReLU, max-pool 2; dense 400-120-84-10 with ReLU), Adam at 1e-3 (betas 0.9/0.999, eps 1e-8), batch 64 with the last
partial batch kept, a fresh shuffle every epoch, softmax cross-entropy, 10 epochs, pixels scaled to [0, 1] as b / 255 and
standardized with the training set's mean and population standard deviation (one value for all pixels), and the test
set evaluated after every epoch. The initialization is PyTorch's default (kaiming_uniform(a=sqrt(5)) weights, i.e.
U(-1/sqrt(fanIn), 1/sqrt(fanIn)), and biases U(-1/sqrt(fanIn), 1/sqrt(fanIn))).

  /usr/bin/python3 benchmarks/accuracy/pytorch_twin.py --seed 42 --threads 2 [--data /usr/share/datasets/fashion-mnist]

Prints one JSON line: {"framework": "pytorch", "seed", "test_accuracy": [per epoch], "best_test_accuracy", ...}.

Replaying one of our runs (to tell numerics from luck): --init FILE starts from given weights (float32 little-endian, in
PyTorch's parameter order conv1.weight, conv1.bias, ... fc3.bias, which is also ours), and --order FILE takes each epoch's
sample order from a file (int32 little-endian, epochs x 60,000) instead of torch.randperm.
"""
import argparse, gzip, json, os, struct, sys, time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F


def read_idx(path):
    with gzip.open(path, "rb") if path.endswith(".gz") else open(path, "rb") as f:
        data = f.read()
    magic, = struct.unpack(">I", data[:4])
    rank = magic & 0xFF
    dims = struct.unpack(">" + "I" * rank, data[4:4 + 4 * rank])
    return np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * rank).reshape(dims)


def load(directory, split):
    images = read_idx(os.path.join(directory, f"{split}-images-idx3-ubyte.gz"))
    labels = read_idx(os.path.join(directory, f"{split}-labels-idx1-ubyte.gz"))
    x = torch.from_numpy(images.astype(np.float32) / np.float32(255.0)).unsqueeze(1)  # (N, 1, 28, 28)
    return x, torch.from_numpy(labels.astype(np.int64))


class LeNet5(nn.Module):
    def __init__(self, classes=10):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 6, 5, padding=2)
        self.conv2 = nn.Conv2d(6, 16, 5)
        self.fc1 = nn.Linear(400, 120)
        self.fc2 = nn.Linear(120, 84)
        self.fc3 = nn.Linear(84, classes)

    def forward(self, x):
        x = F.max_pool2d(F.relu(self.conv1(x)), 2)
        x = F.max_pool2d(F.relu(self.conv2(x)), 2)
        x = torch.flatten(x, 1)
        return self.fc3(F.relu(self.fc2(F.relu(self.fc1(x)))))


def evaluate(model, x, y, batch=500):
    model.eval()
    correct, loss = 0, 0.0
    with torch.no_grad():
        for s in range(0, len(y), batch):
            out = model(x[s:s + batch])
            loss += F.cross_entropy(out, y[s:s + batch], reduction="sum").item()
            correct += (out.argmax(1) == y[s:s + batch]).sum().item()
    model.train()
    return correct / len(y), loss / len(y)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--seed", type=int, default=42)
    p.add_argument("--epochs", type=int, default=10)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--batch-size", type=int, default=64)
    p.add_argument("--lr", type=float, default=1e-3)
    p.add_argument("--data", default=os.environ.get("CONVNET_DATA", "/usr/share/datasets/fashion-mnist"))
    p.add_argument("--init", help="initial weights, float32 little-endian in parameter order")
    p.add_argument("--order", help="per-epoch sample orders, int32 little-endian, epochs x N")
    a = p.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(a.seed)
    train_x, train_y = load(a.data, "train")
    test_x, test_y = load(a.data, "t10k")
    # Mean and population std over every training pixel, in float64 (as Normalization.FromDataset does).
    flat = train_x.double()
    mean, std = flat.mean().item(), flat.std(unbiased=False).item()
    train_x = (train_x - mean) / std
    test_x = (test_x - mean) / std

    model = LeNet5()
    if a.init:
        flat = torch.from_numpy(np.fromfile(a.init, dtype="<f4"))
        if flat.numel() != sum(q.numel() for q in model.parameters()):
            sys.exit(f"{a.init}: {flat.numel()} floats, the model has {sum(q.numel() for q in model.parameters())} parameters")
        with torch.no_grad():
            at = 0
            for q in model.parameters():
                q.copy_(flat[at:at + q.numel()].view_as(q))
                at += q.numel()
    orders = np.fromfile(a.order, dtype="<i4").reshape(-1, len(train_y)) if a.order else None
    opt = torch.optim.Adam(model.parameters(), lr=a.lr, betas=(0.9, 0.999), eps=1e-8)
    order_rng = torch.Generator().manual_seed(a.seed)
    accuracies, losses, seconds, train_losses = [], [], [], []
    n = len(train_y)
    for epoch in range(a.epochs):
        t0 = time.perf_counter()
        order = torch.randperm(n, generator=order_rng) if orders is None else torch.from_numpy(orders[epoch].astype(np.int64))
        loss_sum = 0.0
        for s in range(0, n, a.batch_size):
            idx = order[s:s + a.batch_size]
            opt.zero_grad(set_to_none=True)
            loss = F.cross_entropy(model(train_x[idx]), train_y[idx])
            loss.backward()
            opt.step()
            loss_sum += loss.item() * len(idx)
        train_losses.append(loss_sum / n)
        acc, loss = evaluate(model, test_x, test_y)
        seconds.append(time.perf_counter() - t0)
        accuracies.append(acc)
        losses.append(loss)
        print(f"# seed {a.seed} epoch {epoch + 1}: train loss {train_losses[-1]:.4f}, test accuracy {acc:.4f}, loss {loss:.4f}, {seconds[-1]:.1f} s", file=sys.stderr, flush=True)
    print(json.dumps({"framework": "pytorch", "torch": torch.__version__, "seed": a.seed, "epochs": a.epochs,
                      "normalization": {"mean": mean, "std": std}, "test_accuracy": accuracies, "test_loss": losses, "train_loss": train_losses,
                      "init": a.init, "order": a.order,
                      "best_test_accuracy": max(accuracies), "seconds": seconds, "threads": a.threads}), flush=True)


if __name__ == "__main__":
    main()
