#!/usr/bin/env python3
"""Prints one side-by-side table of ConvNet.Gpu vs PyTorch from result JSON files with the same row format:
   {"engine": ..., "backend": "cpu"|"cuda", "rows": [{"op": ..., "shape": ..., "ms": ...}, ...]}
Usage: compare.py OURS.json PEER.json [OURS2.json PEER2.json ...]   (pairs, one per backend)
Either side may be a comma-separated list of files from alternating rounds (compare.sh --rounds N): each row then takes
the lowest of the rounds' medians on each side, which discards rounds slowed by other processes on a shared machine.
PEER.json may be "-" (no peer run, e.g. gpu-run.sh --rehearsal): the table then has our column only.
Every (op, shape) either side measured is a row; a side that lacks it shows "-" (e.g. ours "lenet5-step-device", the
device loop launching kernel by kernel, which PyTorch has no row for). Training-step and epoch rows (ours: the host
loop "-step", on CUDA also the device loop "-step-device" and its CUDA graph "-step-graph") are summarized against both
PyTorch modes: eager ("-step") and CUDA graph ("-step-graph").
Ratio = our time / PyTorch's time (below 1.0 means we are faster). Geomeans are over the conv rows.
"""
import json, math, sys


def load(paths):
    """One document; with several (comma-separated) files, each (op, shape) row keeps its lowest ms over the files."""
    docs = []
    for path in paths.split(","):
        with open(path) as f:
            docs.append(json.load(f))
    best, order = {}, []
    for d in docs:
        for r in d["rows"]:
            key = (r["op"], r["shape"])
            if key not in best:
                order.append(key)
                best[key] = dict(r)
            elif r["ms"] < best[key]["ms"]:
                best[key] = dict(r)
    merged = dict(docs[0])
    merged["rows"] = [best[k] for k in order]
    merged["rounds"] = len(docs)
    return merged


def table(ours, peer):
    """(op, shape, our ms or None, peer ms or None, ratio or None) for every row either side has, ours first."""
    mine = {(r["op"], r["shape"]): r for r in ours["rows"]}
    theirs = {(r["op"], r["shape"]): r for r in peer["rows"]}
    keys = list(mine) + [k for k in theirs if k not in mine]
    out = []
    for key in keys:
        a = mine[key]["ms"] if key in mine else None
        b = theirs[key]["ms"] if key in theirs else None
        out.append((key[0], key[1], a, b, a / b if a is not None and b else None))
    return out


def cell(value, fmt):
    return format(value, fmt) if value is not None else f"{'-':>{int(fmt.split('.')[0])}}"


def training_summary(rows):
    """Each of our step/epoch rows (host loop, device loop, device loop with CUDA graph) against PyTorch eager and PyTorch
    with CUDA graphs, per model and shape."""
    index = {(op, shape): (a, b) for op, shape, a, b, _ in rows}
    lines = []
    for op, shape, a, b, _ in rows:
        # Our device-loop rows compare with PyTorch's rows of their model's step: "lenet5-step-graph" -> "lenet5-step".
        base = next((op[:-len(s)] + "-step" for s in ("-step-device", "-step-graph") if op.endswith(s)), op)
        if a is None or not (base.endswith("-step") or base.endswith("-epoch")):
            continue
        eager = index.get((base, shape), (None, None))[1]
        graph = index.get((base + "-graph", shape), (None, None))[1]
        parts = [f"PyTorch eager {eager:.3f} ms (ratio {a / eager:.2f})" if eager else "PyTorch eager -"]
        parts.append(f"PyTorch CUDA graph {graph:.3f} ms (ratio {a / graph:.2f})" if graph else "PyTorch CUDA graph -")
        lines.append(f"{op} ({shape}): ours {a:.3f} ms; " + "; ".join(parts))
    return lines


def main(argv):
    if len(argv) < 2 or len(argv) % 2:
        print(__doc__)
        return 2
    for i in range(0, len(argv), 2):
        ours = load(argv[i])
        peer = load(argv[i + 1]) if argv[i + 1] != "-" else {"engine": "no peer run", "rows": []}
        rows = table(ours, peer)
        print(f"\n## {ours.get('backend', '?')}: {ours.get('engine', 'ConvNet.Gpu')} ({ours.get('device', '')}) "
              f"vs {peer.get('engine')} ({peer.get('device', '')}, threads={peer.get('threads')}, tf32={peer.get('tf32')})\n")
        if ours.get("rounds", 1) > 1 or peer.get("rounds", 1) > 1:
            print(f"Each row: the lowest of {ours.get('rounds', 1)} (ours) and {peer.get('rounds', 1)} (PyTorch) alternating "
                  f"rounds' medians.\n")
        print(f"| {'op':24} | {'shape':22} | {'ours ms':>10} | {'PyTorch ms':>10} | {'ratio':>6} |")
        print(f"|{'-' * 26}|{'-' * 24}|{'-' * 12}|{'-' * 12}|{'-' * 8}|")
        for op, shape, a, b, ratio in rows:
            print(f"| {op:24} | {shape:22} | {cell(a, '10.3f')} | {cell(b, '10.3f')} | {cell(ratio, '6.2f')} |")
        for op, shape, a, b, ratio in rows:
            if op.endswith("-epoch") and a is not None:
                versus = f", PyTorch {b / 1e3:.2f} s, ratio {ratio:.2f}" if b else ""
                print(f"\n{op} ({shape}): ours {a / 1e3:.2f} s ({float(shape.split()[0]) / (a / 1e3):,.0f} images/s){versus}", end="")
        summary = training_summary(rows)
        if summary:
            print("\n\nTraining against PyTorch eager and CUDA graphs:")
            for line in summary:
                print(f"- {line}", end="\n")
        for prefix in ("conv-forward", "conv-backward", "conv"):
            rs = [x[4] for x in rows if x[0].startswith(prefix) and x[4] is not None]
            if rs:
                gm = math.exp(sum(math.log(x) for x in rs) / len(rs))
                print(f"\ngeomean ratio, {prefix}* ({len(rs)} rows): {gm:.2f}", end="")
        print()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
