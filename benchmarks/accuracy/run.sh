#!/usr/bin/env bash
# The accuracy comparison of README.md in this folder: `convnet train`'s defaults against their PyTorch twin on the
# real Fashion-MNIST, the same seeds, 10 epochs each, one run at a time. Writes one JSON line per run to RESULTS.
#   bash benchmarks/accuracy/run.sh pytorch  [RESULTS]   # /usr/bin/python3 with python3-torch
#   bash benchmarks/accuracy/run.sh convnet  [RESULTS]   # the built CLI (dotnet build src/ConvNet.Gpu.Cli -c Release first);
#                                                        # CONVNET_CLI=path/convnet.dll runs a copy (so rebuilding meanwhile is safe)
#   bash benchmarks/accuracy/run.sh both     [RESULTS]   # per seed: pytorch, then convnet (a cut-short run still has pairs)
#   bash benchmarks/accuracy/run.sh summary  [RESULTS...] # per framework and build: mean, sd and range of the best and
#                                                        # last-epoch test accuracy; ours minus PyTorch paired by seed
# SEEDS (default "42 43 44 45"), EPOCHS (default 10), THREADS (default 1: the machine is shared; accuracy does not
# depend on it) and DATA (default /usr/share/datasets/fashion-mnist) override. Every run's line records the load
# average before it started and its wall-clock seconds.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
what="${1:?pytorch, convnet or summary}"
results="${2:-$here/results.jsonl}"
seeds="${SEEDS:-42 43 44 45}"
epochs="${EPOCHS:-10}"
data="${DATA:-/usr/share/datasets/fashion-mnist}"
threads="${THREADS:-1}"
cli="${CONVNET_CLI:-$root/src/ConvNet.Gpu.Cli/bin/Release/net10.0/convnet.dll}"
commit="${COMMIT:-$(git -C "$root" rev-parse --short HEAD)}"

pytorch_run() { # seed
  local load start; load="$(cut -d' ' -f1-3 /proc/loadavg)"; start=$SECONDS
  echo "# pytorch seed $1, load $load" >&2
  OMP_NUM_THREADS="$threads" /usr/bin/python3 "$here/pytorch_twin.py" --seed "$1" --epochs "$epochs" --threads "$threads" --data "$data" |
    python3 -c 'import json, sys; r = json.loads(sys.stdin.read()); r.update(load=sys.argv[1], wall_seconds=int(sys.argv[2])); print(json.dumps(r))' \
      "$load" "$((SECONDS - start))" >> "$results"
}
convnet_run() { # seed
  [ -f "$cli" ] || { echo "build first: dotnet build $root/src/ConvNet.Gpu.Cli -c Release" >&2; exit 2; }
  local load start out; load="$(cut -d' ' -f1-3 /proc/loadavg)"; start=$SECONDS; out="$(mktemp -d)"
  echo "# convnet seed $1, load $load" >&2
  dotnet "$cli" train --device cpu --threads "$threads" --seed "$1" --epochs "$epochs" --data "$data" --out "$out" >&2
  python3 - "$out/metrics.json" "$1" "$commit" "$load" "$((SECONDS - start))" "$threads" >> "$results" <<'PY'
import json, sys
m = json.load(open(sys.argv[1]))
acc = [e["test_accuracy"] for e in m["epochs"]]
print(json.dumps({"framework": "convnet", "commit": sys.argv[3], "seed": int(sys.argv[2]), "epochs": len(acc),
                  "test_accuracy": acc, "best_test_accuracy": max(acc), "seconds": [e["seconds"] for e in m["epochs"]],
                  "threads": int(sys.argv[6]), "load": sys.argv[4], "wall_seconds": int(sys.argv[5])}))
PY
  rm -rf "$out"
}
case "$what" in
  pytorch) for s in $seeds; do pytorch_run "$s"; done ;;
  convnet) for s in $seeds; do convnet_run "$s"; done ;;
  both) for s in $seeds; do pytorch_run "$s"; convnet_run "$s"; done ;;
  summary) shift; python3 "$here/summary.py" "${@:-$results}" ;;  # every file given, older first (summary.py)
  *) echo "unknown: $what" >&2; exit 2 ;;
esac
