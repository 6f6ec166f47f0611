#!/usr/bin/env bash
# Data-parallel scaling on this machine: `convnet train` on Fashion-MNIST (LeNet-5, global batch 64) as one process
# with 1 CPU thread, then as `mpirun -np 2 ... --distributed` with 1 thread per rank. Records, per run, the load
# average before and after, wall time, images/s per epoch (metrics.json), final test accuracy and rank 0's
# communication share of the step time. Results go to benchmarks/results/distributed-<date>/.
#   bash benchmarks/distributed/scaling.sh [--epochs N] [--bucket-kb K] [--limit N]   (defaults: 10 epochs, 1024 KiB, all images)
# For a quiet rerun, stop other work first (check `cat /proc/loadavg` is below 0.5) and run it twice.
set -euo pipefail
cd "$(dirname "$0")/../.."
epochs=10 bucket=1024 limit=()
while [ $# -gt 0 ]; do
  case "$1" in
    --epochs) epochs=$2; shift 2 ;;
    --bucket-kb) bucket=$2; shift 2 ;;
    --limit) limit=(--limit "$2"); shift 2 ;;
    *) echo "unknown option $1" >&2; exit 2 ;;
  esac
done
source build/prereqs.sh
dotnet build src/ConvNet.Gpu.Cli -c Release -v q -nologo >/dev/null
cli=src/ConvNet.Gpu.Cli/bin/Release/net10.0/convnet.dll
out=benchmarks/results/distributed-$(date +%F)
scratch=$(mktemp -d)   # checkpoints and reports stay out of the repository
trap 'rm -rf "$scratch"' EXIT
mkdir -p "$out"
common=(train --model lenet5 --epochs "$epochs" --batch-size 64 --device cpu --threads 1 --seed 42 "${limit[@]}")
export TERM=dumb DOTNET_gcServer=0

run() { # name, command...
  local name=$1; shift
  local before after start end
  before=$(cut -d' ' -f1-3 /proc/loadavg); start=$(date +%s.%N)
  "$@" --out "$scratch/$name" > "$out/$name.log" 2>&1 </dev/null
  cp "$scratch/$name/metrics.json" "$out/$name-metrics.json"
  end=$(date +%s.%N); after=$(cut -d' ' -f1-3 /proc/loadavg)
  printf '%s\twall %.1f s\tload before %s\tload after %s\n' "$name" "$(echo "$end - $start" | bc)" "$before" "$after" | tee -a "$out/summary.tsv"
  grep -E "^Done:|^Communication:" "$out/$name.log" | tee -a "$out/summary.tsv" || true
  python3 - "$out/$name-metrics.json" <<'PY' | tee -a "$out/summary.tsv"
import json, sys
m = json.load(open(sys.argv[1]))
e = m["epochs"]
ips = sorted(x["images_per_second"] for x in e)
print(f"  images/s per epoch: median {ips[len(ips)//2]:.0f}, min {ips[0]:.0f}, max {ips[-1]:.0f}; final test accuracy {e[-1]['test_accuracy']*100:.2f}%")
PY
}

echo "# $(date -u +%FT%TZ) commit $(git rev-parse --short HEAD), $(nproc) cores; epochs $epochs, bucket $bucket KiB" >> "$out/summary.tsv"
run one-process dotnet "$cli" "${common[@]}"
run two-ranks mpirun --allow-run-as-root --oversubscribe --bind-to none -np 2 dotnet "$cli" "${common[@]}" --distributed --bucket-kb "$bucket"
echo "results in $out/summary.tsv"
