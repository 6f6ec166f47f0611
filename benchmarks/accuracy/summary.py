#!/usr/bin/env python3
"""Summary of accuracy runs (the JSON lines run.sh writes), over one or more files.

  python3 benchmarks/accuracy/summary.py RESULTS.jsonl [MORE.jsonl ...]

Per framework and build: the seeds, the mean, standard deviation and range of the best test accuracy over the epochs
and of the last epoch's; then, over the seeds both frameworks ran, ours minus PyTorch per seed (mean, standard error,
how often ours is ahead) and the mean test accuracy per epoch. A seed that appears twice for one framework keeps its
last line, whatever the build (files are read in the order given), so list older runs first.
"""
import collections, json, statistics as st, sys


def main(paths):
    frameworks = collections.defaultdict(dict)  # framework -> seed -> its last run
    for path in paths:
        for line in open(path):
            if line.strip():
                r = json.loads(line)
                frameworks[r["framework"]][r["seed"]] = r
    runs = collections.defaultdict(dict)  # (framework, build) -> seed -> run
    for fw, rs in frameworks.items():
        for seed, r in rs.items():
            runs[(fw, r.get("commit", r.get("torch")))][seed] = r
    for (fw, build), rs in sorted(runs.items()):
        best = [100 * r["best_test_accuracy"] for r in rs.values()]
        last = [100 * r["test_accuracy"][-1] for r in rs.values()]
        sd = lambda v: st.stdev(v) if len(v) > 1 else 0.0
        print(f"{fw} {build}: {len(rs)} seeds ({min(rs)}-{max(rs)}); best test accuracy mean {st.mean(best):.2f}% "
              f"(sd {sd(best):.2f}, range {min(best):.2f}-{max(best):.2f}); last epoch mean {st.mean(last):.2f}% (sd {sd(last):.2f})")
    for fw, rs in sorted(frameworks.items()):
        if len({r.get("commit", r.get("torch")) for r in rs.values()}) > 1:
            best = [100 * r["best_test_accuracy"] for r in rs.values()]
            last = [100 * r["test_accuracy"][-1] for r in rs.values()]
            print(f"{fw}, all builds: {len(rs)} seeds; best test accuracy mean {st.mean(best):.2f}% (sd {st.stdev(best):.2f}); "
                  f"last epoch mean {st.mean(last):.2f}% (sd {st.stdev(last):.2f})")
    ours, theirs = frameworks.get("convnet", {}), frameworks.get("pytorch", {})
    common = sorted(set(ours) & set(theirs))
    if len(common) < 2:
        return
    for what, pick in (("best", lambda r: r["best_test_accuracy"]), ("last epoch", lambda r: r["test_accuracy"][-1])):
        d = [100 * (pick(ours[s]) - pick(theirs[s])) for s in common]
        print(f"ours minus PyTorch, {what}, {len(d)} seeds: {st.mean(d):+.3f} points (standard error {st.stdev(d) / len(d) ** 0.5:.3f}); "
              f"ours ahead on {sum(x > 0 for x in d)}, level on {sum(x == 0 for x in d)}")
    epochs = min(len(r["test_accuracy"]) for s in common for r in (ours[s], theirs[s]))
    print("mean test accuracy per epoch, " + ", ".join(f"{e + 1}" for e in range(epochs)))
    for name, rs in (("  PyTorch", theirs), ("  ours   ", ours)):
        print(name + " " + " ".join(f"{100 * st.mean(rs[s]['test_accuracy'][e] for s in common):.2f}" for e in range(epochs)))


if __name__ == "__main__":
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    main(sys.argv[1:])
