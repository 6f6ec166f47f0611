#!/usr/bin/env python3
"""Prints one side-by-side table of ConvNet.Gpu vs PyTorch from result JSON files with the same row format:
   {"engine": ..., "backend": "cpu"|"cuda", "rows": [{"op": ..., "shape": ..., "ms": ...}, ...]}
Usage: compare.py OURS.json PEER.json [OURS2.json PEER2.json ...]   (pairs, one per backend)
Either side may be a comma-separated list of files from alternating rounds (compare.sh --rounds N): each row then takes
the lowest of the rounds' medians on each side, which discards rounds slowed by other processes on a shared machine.
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
    index = {(r["op"], r["shape"]): r for r in peer["rows"]}
    out = []
    for r in ours["rows"]:
        p = index.get((r["op"], r["shape"]))
        if p is None:
            continue
        out.append((r["op"], r["shape"], r["ms"], p["ms"], r["ms"] / p["ms"]))
    return out


def main(argv):
    if len(argv) < 2 or len(argv) % 2:
        print(__doc__)
        return 2
    for i in range(0, len(argv), 2):
        ours, peer = load(argv[i]), load(argv[i + 1])
        rows = table(ours, peer)
        print(f"\n## {ours.get('backend', '?')}: {ours.get('engine', 'ConvNet.Gpu')} ({ours.get('device', '')}) "
              f"vs {peer.get('engine')} ({peer.get('device', '')}, threads={peer.get('threads')}, tf32={peer.get('tf32')})\n")
        if ours.get("rounds", 1) > 1 or peer.get("rounds", 1) > 1:
            print(f"Each row: the lowest of {ours.get('rounds', 1)} (ours) and {peer.get('rounds', 1)} (PyTorch) alternating "
                  f"rounds' medians.\n")
        print(f"| {'op':24} | {'shape':22} | {'ours ms':>10} | {'PyTorch ms':>10} | {'ratio':>6} |")
        print(f"|{'-' * 26}|{'-' * 24}|{'-' * 12}|{'-' * 12}|{'-' * 8}|")
        for op, shape, a, b, ratio in rows:
            print(f"| {op:24} | {shape:22} | {a:10.3f} | {b:10.3f} | {ratio:6.2f} |")
        for op, shape, a, b, ratio in rows:
            if op.endswith("-epoch"):
                print(f"\n{op} ({shape}): ours {a / 1e3:.2f} s ({float(shape.split()[0]) / (a / 1e3):,.0f} images/s), "
                      f"PyTorch {b / 1e3:.2f} s, ratio {ratio:.2f}", end="")
        for prefix in ("conv-forward", "conv-backward", "conv"):
            rs = [x[4] for x in rows if x[0].startswith(prefix)]
            if rs:
                gm = math.exp(sum(math.log(x) for x in rs) / len(rs))
                print(f"\ngeomean ratio, {prefix}* ({len(rs)} rows): {gm:.2f}", end="")
        print()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
