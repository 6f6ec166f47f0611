#!/usr/bin/env bash
# One command for the side-by-side table: runs ConvNet.Gpu's peer mode and the PyTorch peer on the same shapes
# (benchmarks/conv-shapes.json), SGEMM 1024^3 and the LeNet-5 epoch, one after the other, then prints
# benchmarks/peers/compare.py's table (ours, PyTorch's, ratio, geomean over the conv rows).
#
#   bash benchmarks/compare.sh                       # CPU: 2 threads each; PyTorch from Debian's /usr/bin/python3
#   bash benchmarks/compare.sh --device cuda         # CUDA: PyTorch with cuDNN from `python3`; TF32 off on both sides
#   bash benchmarks/compare.sh --device cuda --tf32 on
#
# Options: --device cpu|cuda  --threads N (CPU, default 2)  --repeats N (default 10)  --skip-epoch
#          --epoch-images N (default 60000)  --tf32 on|off (CUDA; cuBLAS on our side, cuDNN+cuBLAS on PyTorch's)
#          --extended (training steps of both models, small-VGG epoch)  --out-dir DIR (keeps the JSON files and the table; default: a temp dir)
#          --rounds N (default 1): run both sides N times, alternating, and keep each row's lowest median over the rounds
#          (robust on a shared machine: a round slowed by other processes is discarded); epochs run in the first round only
#          --no-peer (our side only: no PyTorch needed; the table has our column; gpu-run.sh --rehearsal uses it)
#          --batch N (training steps and epochs, default 64)  --sgemm N (the SGEMM row's size, default 1024)
# Environment: CONVNET_BENCH_BIN (our benchmark executable; default: the published bin/ beside this script, else
#              a Release build of benchmarks/ConvNet.Gpu.Benchmarks), CONVNET_PEER_PYTHON (the Python with torch).
# Works from the repository and from the bundle made by benchmarks/publish-gpu-bench.sh (no .NET SDK needed there).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"

device=cpu threads=2 repeats=10 tf32=off epoch_images=60000 out_dir="" extra=() rounds=1 peer=1
while [ $# -gt 0 ]; do
  case "$1" in
    --device) device="$2"; shift 2 ;;
    --threads) threads="$2"; shift 2 ;;
    --repeats) repeats="$2"; shift 2 ;;
    --tf32) tf32="$2"; shift 2 ;;
    --epoch-images) epoch_images="$2"; shift 2 ;;
    --skip-epoch) extra+=(--skip-epoch); shift ;;
    --extended) extra+=(--extended); shift ;;
    --out-dir) out_dir="$2"; shift 2 ;;
    --rounds) rounds="$2"; shift 2 ;;
    --no-peer) peer=0; shift ;;
    --batch|--sgemm) extra+=("$1" "$2"); shift 2 ;;
    -h|--help) sed -n '2,23p' "$0"; exit 0 ;;
    *) echo "compare.sh: unknown option $1 (see --help)" >&2; exit 2 ;;
  esac
done
case "$device" in cpu|cuda) ;; *) echo "compare.sh: --device must be cpu or cuda" >&2; exit 2 ;; esac

# Our executable.
if [ -n "${CONVNET_BENCH_BIN:-}" ]; then
  ours="$CONVNET_BENCH_BIN"
elif [ -x "$here/bin/ConvNet.Gpu.Benchmarks" ]; then
  ours="$here/bin/ConvNet.Gpu.Benchmarks"
else
  echo "# building benchmarks/ConvNet.Gpu.Benchmarks (Release)" >&2
  dotnet build "$here/ConvNet.Gpu.Benchmarks" -c Release -nologo -v q >&2
  ours="$here/ConvNet.Gpu.Benchmarks/bin/Release/net10.0/ConvNet.Gpu.Benchmarks"
fi

# PyTorch: Debian's python3-torch on the CPU (the pyenv python3 on PATH has no torch), python3 with CUDA on a GPU host.
if [ -n "${CONVNET_PEER_PYTHON:-}" ]; then py="$CONVNET_PEER_PYTHON"
elif [ "$device" = cpu ] && [ -x /usr/bin/python3 ]; then py=/usr/bin/python3
else py=python3; fi
if [ "$peer" = 1 ]; then
  "$py" -c "import torch" 2>/dev/null || { echo "compare.sh: $py cannot import torch; set CONVNET_PEER_PYTHON (or --no-peer)" >&2; exit 2; }
fi
# Debian's torch does its GEMMs through the libblas.so.3 alternative. With only the reference BLAS (libblas3, which
# other packages pull in) PyTorch's SGEMM 1024^3 takes about 270 ms instead of about 11 ms, and every PyTorch row with a
# GEMM inside (dense layers, the training steps and epochs) is invalid. Install OpenBLAS, or refuse to compare.
if [ "$peer" = 1 ] && [ "$device" = cpu ] && [ "$py" = /usr/bin/python3 ]; then
  blas="$(readlink -f /usr/lib/x86_64-linux-gnu/libblas.so.3 2>/dev/null || true)"
  if [[ "$blas" != *openblas* ]]; then
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
      echo "compare.sh: PyTorch's BLAS is '${blas:-none}', not OpenBLAS: installing libopenblas0-pthread" >&2
      DEBIAN_FRONTEND=noninteractive apt-get install -y -qq libopenblas0-pthread >/dev/null || true
      blas="$(readlink -f /usr/lib/x86_64-linux-gnu/libblas.so.3 2>/dev/null || true)"
    fi
    [[ "$blas" == *openblas* ]] || { echo "compare.sh: PyTorch's BLAS is '${blas:-none}', not OpenBLAS; install libopenblas0-pthread (its GEMM rows would be invalid)" >&2; exit 2; }
  fi
  echo "# PyTorch BLAS: $blas" >&2
fi

commit="$(git -C "$here" rev-parse --short HEAD 2>/dev/null || cat "$here/COMMIT" 2>/dev/null || echo unknown)"
export CONVNET_COMMIT="$commit"
if [ -z "$out_dir" ]; then out_dir="$(mktemp -d "${TMPDIR:-/tmp}/convnet-compare-$device.XXXXXX")"; fi
mkdir -p "$out_dir"
case "$rounds" in ''|*[!0-9]*|0) echo "compare.sh: --rounds must be a positive integer" >&2; exit 2 ;; esac

common=(--device "$device" --threads "$threads" --repeats "$repeats" --epoch-images "$epoch_images" ${extra[@]+"${extra[@]}"})
ours_list="" peer_list=""
for round in $(seq 1 "$rounds"); do
  suffix=""; [ "$rounds" -gt 1 ] && suffix="-$round"
  ours_json="$out_dir/convnet-$device$suffix.json" peer_json="$out_dir/pytorch-$device$suffix.json"
  round_args=("${common[@]}")
  [ "$round" -gt 1 ] && round_args+=(--skip-epoch)
  ours_args=("${round_args[@]}" --out "$ours_json")
  [ "$device" = cuda ] && ours_args+=(--tf32 "$tf32")
  echo "# round $round/$rounds: $(date -u '+%Y-%m-%d %H:%M UTC'), commit $commit, $(uname -n), load $(cut -d' ' -f1-3 /proc/loadavg)" | tee -a "$out_dir/loads.txt" >&2
  echo "# ours:    $ours peer ${ours_args[*]}" >&2
  "$ours" peer "${ours_args[@]}"
  ours_list="${ours_list:+$ours_list,}$ours_json"
  [ "$peer" = 1 ] || continue
  echo "# round $round/$rounds: PyTorch starts, load $(cut -d' ' -f1-3 /proc/loadavg)" | tee -a "$out_dir/loads.txt" >&2
  echo "# PyTorch: $py $here/peers/pytorch_peer.py ${round_args[*]} --tf32 $tf32 --out $peer_json" >&2
  "$py" "$here/peers/pytorch_peer.py" "${round_args[@]}" --tf32 "$tf32" --out "$peer_json"
  peer_list="${peer_list:+$peer_list,}$peer_json"
done
echo "# done: $(date -u '+%Y-%m-%d %H:%M UTC'), load $(cut -d' ' -f1-3 /proc/loadavg)" | tee -a "$out_dir/loads.txt" >&2

"$py" "$here/peers/compare.py" "$ours_list" "${peer_list:--}" | tee "$out_dir/table.md"
echo >&2
echo "# JSON and table kept in $out_dir" >&2
