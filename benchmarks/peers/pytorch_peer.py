#!/usr/bin/env python3
"""PyTorch peer for the ConvNet.Gpu benchmarks: the same op shapes and the same LeNet-5 epoch, timed the same way.

Writes one JSON document (stdout, or --out FILE) with a row per (op, shape): median milliseconds and GFLOP/s.
  CPU:  /usr/bin/python3 benchmarks/peers/pytorch_peer.py --device cpu --threads 2
  CUDA: python3 benchmarks/peers/pytorch_peer.py --device cuda --tf32 off   (cuDNN; state the TF32 mode)
Timing: warm-up, then the median of --repeats runs; CUDA runs are bracketed by torch.cuda.synchronize().
Runs on PyTorch 1.13 (Debian's python3-torch, CPU) and 2.x (CUDA): only APIs both have are used.

On CUDA the training-step and epoch rows come twice: PyTorch eager ("lenet5-step") and the same step captured once in a
torch.cuda.CUDAGraph and replayed ("lenet5-step-graph"), the two baselines ConvNet.Gpu's GPU step is measured against.
Rows that cannot run here (graphs on the CPU) are listed under "skipped" with the reason.

Adding rows: write a function (args, table) -> list of row dicts and add one line to ROW_SETS; compare.py shows every
(op, shape) either side has, so a row only one side measures appears with the other side's column empty.
"""
import argparse, json, os, platform, statistics, sys, time

import torch
import torch.nn as nn
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))


def sync(device):
    if device == "cuda":
        torch.cuda.synchronize()


def median_ms(fn, device, repeats, min_seconds=0.2):
    for _ in range(3):
        fn()
    sync(device)
    times = []
    start_all = time.perf_counter()
    while len(times) < repeats or (time.perf_counter() - start_all) < min_seconds and len(times) < 10 * repeats:
        t0 = time.perf_counter()
        fn()
        sync(device)
        times.append((time.perf_counter() - t0) * 1e3)
    return statistics.median(times)


def conv_rows(shapes, device, repeats):
    rows = []
    g = torch.Generator().manual_seed(0)
    for s in shapes:
        groups = s.get("groups", 1)
        x = torch.randn(s["n"], s["c"], s["h"], s["w"], generator=g).to(device)
        w = torch.randn(s["k"], s["c"] // groups, s["kernel"], s["kernel"], generator=g).to(device)
        b = torch.randn(s["k"], generator=g).to(device)
        args = dict(stride=s["stride"], padding=s["pad"], dilation=s["dilation"], groups=groups)
        y = F.conv2d(x, w, b, **args)
        dy = torch.randn_like(y)
        oh, ow = y.shape[2], y.shape[3]
        flops = 2.0 * s["n"] * s["k"] * oh * ow * (s["c"] // groups) * s["kernel"] ** 2
        with torch.no_grad():
            fwd = median_ms(lambda: F.conv2d(x, w, b, **args), device, repeats)
            bwd_data = median_ms(lambda: torch.nn.grad.conv2d_input(x.shape, w, dy, **args), device, repeats)
            bwd_w = median_ms(lambda: torch.nn.grad.conv2d_weight(x, w.shape, dy, **args), device, repeats)
        for op, ms in (("conv-forward", fwd), ("conv-backward-data", bwd_data), ("conv-backward-weights", bwd_w)):
            rows.append({"op": op, "shape": s["name"], "ms": ms, "gflops": flops / (ms * 1e6)})
    return rows


def pool_rows(pools, device, repeats):
    rows = []
    g = torch.Generator().manual_seed(1)
    for p in pools:
        x = torch.randn(p["n"], p["c"], p["h"], p["w"], generator=g).to(device).requires_grad_(True)
        kw = dict(kernel_size=p["kernel"], stride=p["stride"], padding=p.get("pad", 0))
        for kind, fn in (("max", F.max_pool2d), ("avg", F.avg_pool2d)):
            y = fn(x, **kw)
            dy = torch.randn_like(y)
            with torch.no_grad():
                fwd = median_ms(lambda: fn(x, **kw), device, repeats)
            bwd = median_ms(lambda: torch.autograd.grad(y, x, dy, retain_graph=True), device, repeats)
            rows.append({"op": f"{kind}pool-forward", "shape": p["name"], "ms": fwd})
            rows.append({"op": f"{kind}pool-backward", "shape": p["name"], "ms": bwd})
    return rows


def sgemm_row(device, repeats, n=1024):
    a = torch.randn(n, n, device=device)
    b = torch.randn(n, n, device=device)
    ms = median_ms(lambda: a @ b, device, repeats)
    return {"op": "sgemm", "shape": f"{n}x{n}x{n}", "ms": ms, "gflops": 2.0 * n ** 3 / (ms * 1e6)}


def lenet5():
    # Modern LeNet-5, 61,706 parameters: the same network as ConvNet.Gpu's Models.LeNet5.
    return nn.Sequential(
        nn.Conv2d(1, 6, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(6, 16, 5), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(), nn.Linear(400, 120), nn.ReLU(), nn.Linear(120, 84), nn.ReLU(), nn.Linear(84, 10))


def vgg_small():
    # The same network as ConvNet.Gpu's Models.VggSmall: two blocks of (conv3x3 without bias, BN, ReLU) x 2 + max-pool,
    # 32 then 64 maps (28 -> 14 -> 7), dense 3136-128, ReLU, dropout 0.5, dense 128-10.
    layers, cin = [], 1
    for maps in (32, 64):
        for _ in range(2):
            layers += [nn.Conv2d(cin, maps, 3, padding=1, bias=False), nn.BatchNorm2d(maps), nn.ReLU()]
            cin = maps
        layers.append(nn.MaxPool2d(2))
    return nn.Sequential(*layers, nn.Flatten(), nn.Linear(3136, 128), nn.ReLU(), nn.Dropout(0.5), nn.Linear(128, 10))


MODELS = {"lenet5": (lenet5, 0.05), "vgg-small": (vgg_small, 0.01)}


def make_model(name, device):
    torch.manual_seed(0)
    factory, lr = MODELS[name]
    model = factory().to(device)
    # Parameter counts of ConvNet.Gpu's models: LeNet-5 61,706; small VGG 468,010 (convs 64,800, BN 384, dense 402,826).
    assert sum(p.numel() for p in model.parameters()) == {"lenet5": 61706, "vgg-small": 468010}[name]
    return model, torch.optim.SGD(model.parameters(), lr=lr, momentum=0.9)


def train_step(model, opt, x, y):
    opt.zero_grad(set_to_none=True)
    F.cross_entropy(model(x), y).backward()
    opt.step()


def graph_step(model, opt, x, y):
    """Captures one training step (forward, loss, backward, SGD update) on the static tensors x, y in a
    torch.cuda.CUDAGraph, after warm-up steps on a side stream (PyTorch's whole-network capture recipe: they create the
    momentum buffers and BatchNorm's state), and returns the graph's replay: one launch for the whole step."""
    side = torch.cuda.Stream()
    side.wait_stream(torch.cuda.current_stream())
    with torch.cuda.stream(side):
        for _ in range(3):
            train_step(model, opt, x, y)
    torch.cuda.current_stream().wait_stream(side)
    graph = torch.cuda.CUDAGraph()
    opt.zero_grad(set_to_none=True)
    with torch.cuda.graph(graph):
        F.cross_entropy(model(x), y).backward()
        opt.step()
    return graph.replay


def modes_with_data(name, row, device, images, skipped):
    """Yields (mode, model, optimizer, images x, labels y) for "eager" and, on CUDA, "graph" (noting in `skipped` why
    not elsewhere): a fresh model from the same seed and `images` random images already on the device for each."""
    for mode in ("eager", "graph"):
        if mode == "graph" and device != "cuda":
            skipped.append(f"{name}-{row}-graph: CUDA graphs need a CUDA device")
            continue
        model, opt = make_model(name, device)
        x = torch.rand(images, 1, 28, 28, device=device)
        y = torch.randint(0, 10, (images,), device=device)
        yield mode, model, opt, x, y


def step_rows(name, device, batch, repeats, skipped):
    """One training step on a fixed device batch, as our TrainingStepBenchmarks: eager, and on CUDA also a CUDA graph."""
    rows = []
    for mode, model, opt, x, y in modes_with_data(name, "step", device, batch, skipped):
        step = (lambda: train_step(model, opt, x, y)) if mode == "eager" else graph_step(model, opt, x, y)
        ms = median_ms(step, device, repeats)
        op = f"{name}-step" if mode == "eager" else f"{name}-step-graph"
        rows.append({"op": op, "shape": f"batch {batch}", "ms": ms, "images_per_second": batch / (ms / 1e3)})
    return rows


def epoch_rows(name, device, batch, images, skipped):
    """One epoch over `images` random images already on the device, eager; on CUDA also replaying a captured step per
    batch (the batch copied into the graph's static input first). The graph needs full batches, so it runs
    images // batch of them and reports its own image count."""
    rows = []
    for mode, model, opt, x, y in modes_with_data(name, "epoch", device, images, skipped):
        if mode == "eager":
            def step(i):
                train_step(model, opt, x[i:i + batch], y[i:i + batch])
            starts = range(0, images, batch)
        else:
            xs, ys = x[:batch].clone(), y[:batch].clone()
            replay = graph_step(model, opt, xs, ys)

            def step(i):
                xs.copy_(x[i:i + batch])
                ys.copy_(y[i:i + batch])
                replay()
            starts = range(0, images - batch + 1, batch)
        for i in list(starts)[:10]:  # warm-up
            step(i)
        sync(device)
        t0 = time.perf_counter()
        for i in starts:
            step(i)
        sync(device)
        seconds = time.perf_counter() - t0
        done = min(images, len(starts) * batch)
        row = {"op": f"{name}-epoch" if mode == "eager" else f"{name}-epoch-graph",
               "shape": f"{images} images, batch {batch}", "ms": seconds * 1e3, "images_per_second": done / seconds}
        if done != images:
            row["images"] = done
        rows.append(row)
    return rows


# Row sets, in output order: (name, function(args, table, skipped) -> rows). Add a benchmark row with one line here.
ROW_SETS = [
    ("conv", lambda a, t, skipped: conv_rows(t["shapes"], a.device, a.repeats)),
    ("pool", lambda a, t, skipped: pool_rows(t["pools"], a.device, a.repeats)),
    ("sgemm", lambda a, t, skipped: [sgemm_row(a.device, a.repeats, a.sgemm)]),
    ("steps", lambda a, t, skipped: [r for m in MODELS for r in step_rows(m, a.device, a.batch, a.repeats, skipped)]
        if a.extended else []),
    ("epochs", lambda a, t, skipped: [] if a.skip_epoch else
        [r for m in (MODELS if a.extended else ["lenet5"]) for r in epoch_rows(m, a.device, a.batch, a.epoch_images, skipped)]),
]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--device", default="cpu", choices=["cpu", "cuda"])
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--tf32", default="off", choices=["on", "off"])
    ap.add_argument("--repeats", type=int, default=10)
    ap.add_argument("--epoch-images", type=int, default=60000)
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--sgemm", type=int, default=1024, help="n of the n x n x n SGEMM row")
    ap.add_argument("--skip-epoch", action="store_true")
    ap.add_argument("--extended", action="store_true", help="also both models' training steps and the small VGG's epoch")
    ap.add_argument("--shapes", default=os.environ.get("CONVNET_SHAPES", os.path.join(HERE, "..", "conv-shapes.json")),
                    help="the shape table (default: conv-shapes.json beside this folder; CONVNET_SHAPES)")
    ap.add_argument("--conv-only", action="store_true", help="only the conv rows (no pooling, SGEMM or epoch)")
    ap.add_argument("--extra-shapes", action="append", default=[],
                    help="another shape file's convolutions too (e.g. conv-extra-shapes.json: depthwise)")
    ap.add_argument("--out")
    a = ap.parse_args()

    torch.set_num_threads(a.threads)
    if a.device == "cuda":
        torch.backends.cuda.matmul.allow_tf32 = a.tf32 == "on"
        torch.backends.cudnn.allow_tf32 = a.tf32 == "on"
        torch.backends.cudnn.benchmark = True
    with open(a.shapes) as f:
        table = json.load(f)

    shapes = list(table["shapes"])
    for extra in a.extra_shapes:
        with open(extra) as f:
            shapes += json.load(f)["shapes"]
    table = dict(table, shapes=shapes)
    if a.conv_only:
        a.skip_epoch = True
    rows, skipped = [], []
    for name, produce in ROW_SETS:
        if a.conv_only and name != "conv":
            continue
        rows += produce(a, table, skipped)
    doc = {
        "engine": f"PyTorch {torch.__version__}",
        "device": torch.cuda.get_device_name(0) if a.device == "cuda" else platform.processor() or platform.machine(),
        "backend": a.device, "threads": torch.get_num_threads(),
        "tf32": a.tf32 if a.device == "cuda" else "n/a",
        "cudnn": torch.backends.cudnn.version() if a.device == "cuda" else None,
        "cuda": torch.version.cuda if a.device == "cuda" else None,
        "mkldnn": torch.backends.mkldnn.is_available(),
        "date": time.strftime("%Y-%m-%d %H:%M:%S"),
        "command": "pytorch_peer.py " + " ".join(sys.argv[1:]),
        "rows": rows,
        "skipped": skipped,
    }
    text = json.dumps(doc, indent=1)
    if a.out:
        with open(a.out, "w") as f:
            f.write(text + "\n")
    else:
        print(text)


if __name__ == "__main__":
    sys.exit(main())
