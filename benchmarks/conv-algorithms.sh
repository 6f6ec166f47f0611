#!/usr/bin/env bash
# Which convolution algorithm wins where, on a GPU, next to PyTorch + cuDNN: for TF32 off and on, times every shape of
# conv-shapes.json and conv-extra-shapes.json (depthwise) x pass with each algorithm forced and autotuned
# (`ConvNet.Gpu.Benchmarks conv-algorithms`), then PyTorch's conv rows in the same mode (pytorch_peer.py --conv-only,
# cudnn.benchmark on), and prints peers/compare_algorithms.py's tables (ms per algorithm, the autotuned choice, cuDNN,
# the ratio and its geomean, % of the cuBLAS-measured FP32/TF32 peak).
#
#   bash benchmarks/conv-algorithms.sh                 # on a GPU host (the repository or the publish-gpu-bench.sh bundle)
#   bash benchmarks/conv-algorithms.sh --device cuda-emulated --batch 1 --shapes lenet-c3,depthwise   # code path check
#
# Options: --device cuda|cuda-emulated  --tf32 off|on|both (default both)  --repeats N (default 10)  --batch N (override
#          the table's batch)  --shapes a,b  --out-dir DIR (keeps the JSON files and tables; default: a temp dir)
# Environment: CONVNET_BENCH_BIN (our benchmark executable), CONVNET_PEER_PYTHON (the Python with torch; the PyTorch side
# is skipped, with a note, when it has no CUDA or on the emulated device).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
device=cuda tf32=both repeats=10 batch="" shapes="" out_dir=""
while [ $# -gt 0 ]; do
  case "$1" in
    --device) device="$2"; shift 2 ;;
    --tf32) tf32="$2"; shift 2 ;;
    --repeats) repeats="$2"; shift 2 ;;
    --batch) batch="$2"; shift 2 ;;
    --shapes) shapes="$2"; shift 2 ;;
    --out-dir) out_dir="$2"; shift 2 ;;
    -h|--help) sed -n '2,17p' "$0"; exit 0 ;;
    *) echo "conv-algorithms.sh: unknown option $1 (see --help)" >&2; exit 2 ;;
  esac
done
if [ -n "${CONVNET_BENCH_BIN:-}" ]; then ours="$CONVNET_BENCH_BIN"
elif [ -x "$here/bin/ConvNet.Gpu.Benchmarks" ]; then ours="$here/bin/ConvNet.Gpu.Benchmarks"
else
  dotnet build "$here/ConvNet.Gpu.Benchmarks" -c Release -nologo -v q >&2
  ours="$here/ConvNet.Gpu.Benchmarks/bin/Release/net10.0/ConvNet.Gpu.Benchmarks"
fi
py="${CONVNET_PEER_PYTHON:-python3}"
peer=1
if [ "$device" != cuda ] || ! "$py" -c "import torch, sys; sys.exit(0 if torch.cuda.is_available() else 1)" 2>/dev/null; then
  peer=0
  echo "# PyTorch side skipped: $([ "$device" != cuda ] && echo "device $device" || echo "$py has no torch with CUDA")" >&2
fi
[ -n "$out_dir" ] || out_dir="$(mktemp -d "${TMPDIR:-/tmp}/convnet-conv-algorithms.XXXXXX")"
mkdir -p "$out_dir"
export CONVNET_COMMIT="$(git -C "$here" rev-parse --short HEAD 2>/dev/null || cat "$here/COMMIT" 2>/dev/null || echo unknown)"
echo "# $(date -u '+%Y-%m-%d %H:%M UTC'), commit $CONVNET_COMMIT, $(uname -n), load $(cut -d' ' -f1-3 /proc/loadavg)" >&2
modes=(off on); [ "$tf32" = both ] || modes=("$tf32")
pairs=()
for mode in "${modes[@]}"; do
  args=(--device "$device" --tf32 "$mode" --repeats "$repeats" --extra-shapes "$here/conv-extra-shapes.json" --out "$out_dir/convnet-tf32-$mode.json")
  [ -n "$batch" ] && args+=(--batch "$batch")
  [ -n "$shapes" ] && args+=(--shapes "$shapes")
  echo "# ours: $ours conv-algorithms ${args[*]}" >&2
  "$ours" conv-algorithms "${args[@]}"
  if [ "$peer" = 1 ]; then
    echo "# PyTorch: $py $here/peers/pytorch_peer.py --device cuda --tf32 $mode --conv-only" >&2
    "$py" "$here/peers/pytorch_peer.py" --device cuda --tf32 "$mode" --repeats "$repeats" --conv-only \
      --extra-shapes "$here/conv-extra-shapes.json" --out "$out_dir/pytorch-tf32-$mode.json"
    pairs+=("$out_dir/convnet-tf32-$mode.json" "$out_dir/pytorch-tf32-$mode.json")
  fi
done
if [ "${#pairs[@]}" -gt 0 ]; then
  "$py" "$here/peers/compare_algorithms.py" "${pairs[@]}" | tee "$out_dir/table.md"
else
  echo "# no peer: our rows are in $out_dir/convnet-tf32-*.json" >&2
fi
echo "# JSON and table kept in $out_dir" >&2
