#!/usr/bin/env bash
# Publishes the benchmarks as a self-contained linux-x64 bundle for a GPU host without .NET (see the shared
# gpu-host notes): the benchmark executable (BenchmarkDotNet runs in-process there, since no SDK is found), the
# PyTorch peer, compare.py, compare.sh and the shape table, packed as a tar.xz.
#
# Usage: benchmarks/publish-gpu-bench.sh [output-dir]          (default: out/)
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
out="${1:-out}"
bundle="$out/gpu-bench"
rm -rf "$bundle"
mkdir -p "$bundle"
dotnet publish benchmarks/ConvNet.Gpu.Benchmarks -c Release -r linux-x64 --self-contained \
  -p:DebugType=none -p:GenerateDocumentationFile=false -o "$bundle/bin"
grep -c "ConvNet.Gpu.Kernels." "$bundle/bin/ConvNet.Gpu.dll" >/dev/null || { echo "error: no embedded PTX in ConvNet.Gpu.dll" >&2; exit 1; }
# BenchmarkDotNet's ETW/Windows-only native helpers are of no use on Linux.
rm -rf "$bundle/bin/runtimes/win"* "$bundle/bin/x86" "$bundle/bin/amd64" "$bundle/bin/arm64" 2>/dev/null || true
cp benchmarks/compare.sh benchmarks/conv-algorithms.sh benchmarks/conv-shapes.json benchmarks/conv-extra-shapes.json "$bundle/"
mkdir -p "$bundle/peers"
cp benchmarks/peers/pytorch_peer.py benchmarks/peers/compare.py benchmarks/peers/compare_algorithms.py "$bundle/peers/"
git rev-parse --short HEAD > "$bundle/COMMIT" 2>/dev/null || true
tar -cJf "$out/gpu-bench.tar.xz" -C "$out" gpu-bench
echo "published $out/gpu-bench.tar.xz ($(du -m "$out/gpu-bench.tar.xz" | cut -f1) MB); on the host: tar -xJf gpu-bench.tar.xz -C /tmp && bash /tmp/gpu-bench/compare.sh --device cuda"
