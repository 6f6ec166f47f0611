#!/usr/bin/env bash
# The accuracy comparison of README.md in this folder: `convnet train`'s defaults against their PyTorch twin on the
# real Fashion-MNIST, the same seeds, 10 epochs each, one run at a time. Writes one JSON line per run to RESULTS.
#   bash benchmarks/accuracy/run.sh pytorch  [RESULTS]   # /usr/bin/python3 with python3-torch, 2 threads
#   bash benchmarks/accuracy/run.sh convnet  [RESULTS]   # the built CLI (dotnet build -c Release first), 2 threads;
#                                                        # CONVNET_CLI=path/convnet.dll runs a copy (so rebuilding meanwhile is safe)
#   bash benchmarks/accuracy/run.sh summary  [RESULTS]   # mean and range of the best test accuracy per framework
# SEEDS (default "42 43 44 45"), EPOCHS (default 10) and DATA (default /usr/share/datasets/fashion-mnist) override.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
what="${1:?pytorch, convnet or summary}"
results="${2:-$here/results.jsonl}"
seeds="${SEEDS:-42 43 44 45}"
epochs="${EPOCHS:-10}"
data="${DATA:-/usr/share/datasets/fashion-mnist}"
case "$what" in
  pytorch)
    for s in $seeds; do
      echo "# load $(cat /proc/loadavg)" >&2
      /usr/bin/python3 "$here/pytorch_twin.py" --seed "$s" --epochs "$epochs" --threads 2 --data "$data" >> "$results"
    done ;;
  convnet)
    cli="${CONVNET_CLI:-$root/src/ConvNet.Gpu.Cli/bin/Release/net10.0/convnet.dll}"
    [ -f "$cli" ] || { echo "build first: dotnet build $root/src/ConvNet.Gpu.Cli -c Release" >&2; exit 2; }
    commit="${COMMIT:-$(git -C "$root" rev-parse --short HEAD)}"
    for s in $seeds; do
      echo "# load $(cat /proc/loadavg)" >&2
      out="$(mktemp -d)"
      dotnet "$cli" train --device cpu --threads 2 --seed "$s" --epochs "$epochs" --data "$data" --out "$out" >&2
      python3 - "$out/metrics.json" "$s" "$commit" >> "$results" <<'PY'
import json, sys
m = json.load(open(sys.argv[1]))
acc = [e["test_accuracy"] for e in m["epochs"]]
print(json.dumps({"framework": "convnet", "commit": sys.argv[3], "seed": int(sys.argv[2]), "epochs": len(acc),
                  "test_accuracy": acc, "best_test_accuracy": max(acc), "seconds": [e["seconds"] for e in m["epochs"]]}))
PY
      rm -rf "$out"
    done ;;
  summary)
    python3 - "$results" <<'PY'
import json, sys, collections
runs = collections.defaultdict(list)
for line in open(sys.argv[1]):
    if line.strip():
        r = json.loads(line)
        runs[(r["framework"], r.get("commit", r.get("torch")))].append(r)
for (fw, version), rs in runs.items():
    best = [100 * r["best_test_accuracy"] for r in rs]
    seeds = ", ".join(f'{r["seed"]}: {100 * r["best_test_accuracy"]:.2f}' for r in rs)
    print(f"{fw} {version}: {len(rs)} seeds, best test accuracy mean {sum(best) / len(best):.2f}% "
          f"(range {min(best):.2f}-{max(best):.2f}%)  [{seeds}]")
PY
    ;;
  *) echo "unknown: $what" >&2; exit 2 ;;
esac
