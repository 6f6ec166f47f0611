#!/usr/bin/env python3
"""Which convolution algorithm wins where, next to PyTorch + cuDNN in the same precision mode.
Usage: compare_algorithms.py OURS.json PEER.json [OURS2.json PEER2.json ...]
  OURS: `ConvNet.Gpu.Benchmarks conv-algorithms --tf32 off|on --out OURS.json` (rows {op, shape, algorithm, ran, ms, ...})
  PEER: `pytorch_peer.py --device cuda --tf32 off|on --conv-only --extra-shapes conv-extra-shapes.json --out PEER.json`
Pairs must share the TF32 mode. Per (op, shape): each forced algorithm's ms (a star marks a fall-back to Im2ColGemm:
the algorithm cannot run that shape), the autotuned ms and choice, cuDNN's ms, the autotuned / cuDNN ratio and the %
of peak the best of ours reached; then the geomean of the autotuned / cuDNN ratios (the goal: at most 1.0).
"""
import json, math, sys


def load(path):
    # Not compare.py's load, which keeps one row per (op, shape) across rounds: here every algorithm has its row.
    with open(path) as f:
        return json.load(f)


def main(argv):
    if len(argv) < 2 or len(argv) % 2:
        print(__doc__)
        return 2
    for i in range(0, len(argv), 2):
        ours, peer = load(argv[i]), load(argv[i + 1])
        if ours.get("tf32") != peer.get("tf32"):
            print(f"warning: TF32 {ours.get('tf32')} (ours) vs {peer.get('tf32')} (peer): not the same precision mode")
        cudnn = {(r["op"], r["shape"]): r["ms"] for r in peer["rows"]}
        algos = []
        cells = {}
        for r in ours["rows"]:
            if r["algorithm"] not in algos:
                algos.append(r["algorithm"])
            cells[(r["op"], r["shape"], r["algorithm"])] = r
        forced = [a for a in algos if a != "autotuned"]
        keys = []
        for r in ours["rows"]:
            if (r["op"], r["shape"]) not in keys:
                keys.append((r["op"], r["shape"]))
        print(f"\n## TF32 {ours.get('tf32')}: {ours.get('device', '')} vs {peer.get('engine')} cuDNN {peer.get('cudnn')} "
              f"({peer.get('device', '')}); peak: {ours.get('tf32_peak') or ours.get('fp32_peak')}\n")
        head = ["op", "shape"] + [f"{a} ms" for a in forced] + ["autotuned ms", "choice", "cuDNN ms", "ratio", "% peak"]
        print("| " + " | ".join(head) + " |")
        print("|" + "|".join(["---"] * 2 + ["---:"] * (len(forced) + 1) + ["---", "---:", "---:", "---:"]) + "|")
        ratios = []
        for op, shape in keys:
            line = [op, shape]
            for a in forced:
                c = cells.get((op, shape, a))
                line.append("" if c is None else f"{c['ms']:.3f}{'*' if c['ran'] != a else ''}")
            t = cells.get((op, shape, "autotuned"))
            p = cudnn.get((op, shape))
            best = max((c["pct_peak"] for (o, s, _), c in cells.items() if o == op and s == shape), default=0)
            line += [f"{t['ms']:.3f}" if t else "", t["ran"] if t else "", f"{p:.3f}" if p else ""]
            if t and p:
                ratios.append(t["ms"] / p)
                line.append(f"{t['ms'] / p:.2f}")
            else:
                line.append("")
            line.append(f"{best:.1f}")
            print("| " + " | ".join(line) + " |")
        if ratios:
            gm = math.exp(sum(math.log(x) for x in ratios) / len(ratios))
            print(f"\ngeomean autotuned / cuDNN over {len(ratios)} rows: {gm:.2f} (goal: <= 1.00); * = fell back to Im2ColGemm")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
