#!/usr/bin/env bash
# Publishes the test suite as a self-contained linux-x64 executable for a GPU host without .NET
# (docs: shared gpu-host.md), and packs it as a tar.xz that stays well under 64 MB.
# The PTX travels inside ConvNet.Gpu.dll (embedded resources); the emulator library comes along too.
# (build/gpu-bundle.sh makes the one bundle with everything, tests included; this is the tests alone.)
#
# Usage: build/publish-gpu-tests.sh [output-dir]        (default: out/)
# On the GPU host:
#   tar -xJf gpu-tests.tar.xz -C /tmp && /tmp/gpu-tests/ConvNet.Gpu.Tests
#   CONVNET_CUDA_POOL=0 compute-sanitizer --tool memcheck  --error-exitcode=1 /tmp/gpu-tests/ConvNet.Gpu.Tests -namespace ConvNet.Gpu.Tests.Cuda
#   CONVNET_CUDA_POOL=0 compute-sanitizer --tool racecheck --error-exitcode=1 /tmp/gpu-tests/ConvNet.Gpu.Tests -namespace ConvNet.Gpu.Tests.Cuda
#   (CONVNET_CUDA_POOL=0: raw allocations, so memcheck sees each buffer's true bounds)
set -euo pipefail
cd "$(dirname "$0")/.."
out="${1:-out}"
mkdir -p "$out"
bash build/publish-app.sh tests/ConvNet.Gpu.Tests "$out/gpu-tests" self-contained
git rev-parse HEAD > "$out/gpu-tests/COMMIT" 2>/dev/null || true
tar -cJf "$out/gpu-tests.tar.xz" -C "$out" gpu-tests
size=$(du -m "$out/gpu-tests.tar.xz" | cut -f1)
echo "published $out/gpu-tests.tar.xz (${size} MB); on the host: tar -xJf gpu-tests.tar.xz -C /tmp && /tmp/gpu-tests/ConvNet.Gpu.Tests"
