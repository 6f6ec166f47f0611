#!/usr/bin/env bash
# Publishes the benchmarks for a GPU host without .NET (see the shared gpu-host notes): the benchmark executable
# (BenchmarkDotNet runs in-process there, since no SDK is found), the PyTorch peer, compare.py, compare.sh and the
# shape table.
#
# Usage: benchmarks/publish-gpu-bench.sh [output-dir]          (default: out/) self-contained, packed as gpu-bench.tar.xz
#        benchmarks/publish-gpu-bench.sh --into DIR [--framework-dependent] [--no-build]
#                                                              the folder only (build/gpu-bundle.sh puts it in its bundle,
#                                                              framework-dependent beside the bundle's one .NET runtime)
# On the GPU host:
#   tar -xJf gpu-bench.tar.xz -C /tmp && cd /tmp/gpu-bench
#   bash compare.sh --device cuda                              # side-by-side with PyTorch + cuDNN, TF32 off
#   bash compare.sh --device cuda --tf32 on
#   bin/ConvNet.Gpu.Benchmarks --filter '*Convolution*' '*Gemm*' '*Pooling*' --job short   # per-op, CPU and CUDA rows
#   bin/ConvNet.Gpu.Benchmarks --filter '*TrainingStep*' '*Epoch*'                        # end to end, images/s
#   bash conv-algorithms.sh                                    # every conv algorithm forced + autotuned vs cuDNN, TF32 off/on
# Put the Fashion-MNIST .gz files in a folder and set CONVNET_DATA to it for the epoch on real data.
set -euo pipefail
cd "$(dirname "$0")/.."
into="" mode=self-contained build=()
if [ "${1:-}" = --into ]; then
  into="$2"; shift 2
  for a in "$@"; do
    case "$a" in
      --framework-dependent) mode=framework-dependent ;;
      --no-build) build=(--no-build) ;;
      *) echo "publish-gpu-bench.sh: unknown option $a" >&2; exit 2 ;;
    esac
  done
  bundle="$into"
else
  out="${1:-out}"
  bundle="$out/gpu-bench"
fi
rm -rf "$bundle"
mkdir -p "$bundle"
bash build/publish-app.sh benchmarks/ConvNet.Gpu.Benchmarks "$bundle/bin" "$mode" ${build[@]+"${build[@]}"}
cp benchmarks/compare.sh benchmarks/conv-algorithms.sh benchmarks/conv-shapes.json benchmarks/conv-extra-shapes.json "$bundle/"
mkdir -p "$bundle/peers"
cp benchmarks/peers/pytorch_peer.py benchmarks/peers/compare.py benchmarks/peers/compare_algorithms.py "$bundle/peers/"
git rev-parse --short HEAD > "$bundle/COMMIT" 2>/dev/null || true
[ -n "$into" ] && exit 0
tar -cJf "$out/gpu-bench.tar.xz" -C "$out" gpu-bench
echo "published $out/gpu-bench.tar.xz ($(du -m "$out/gpu-bench.tar.xz" | cut -f1) MB); on the host: tar -xJf gpu-bench.tar.xz -C /tmp && bash /tmp/gpu-bench/compare.sh --device cuda"
