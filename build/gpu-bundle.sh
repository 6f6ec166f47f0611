#!/usr/bin/env bash
# Makes the GPU bring-up bundle: one .tar.xz (at most 60 MB) holding everything a GPU host without .NET and without a
# network needs to prove and measure the CUDA backend with one command (gpu-run.sh, see its header):
#   convnet-gpu/gpu-run.sh          the one command
#   convnet-gpu/app/                the test runner (ConvNet.Gpu.Tests) and the `convnet` CLI, framework-dependent (without
#                                   ONNX Runtime: only the ONNX test classes need it, and the kit runs the CUDA suites)
#   convnet-gpu/bench/              compare.sh, the PyTorch peer, compare.py, the shape table; bench/bin: the benchmarks
#                                   (BenchmarkDotNet runs in-process there)
#   convnet-gpu/dotnet/             the .NET runtime, once (dotnet host + Microsoft.NETCore.App), for app/ and bench/bin/
#   convnet-gpu/data/fashion-mnist/ a Fashion-MNIST slice for the training run: 20,000 training images (2,000 per class)
#                                   and the 10,000 test images, raw IDX (xz compresses them better than gzip)
#   convnet-gpu/tools/              gpu-results.py (writes the results file), the rehearsal's shape table
#   convnet-gpu/COMMIT, BUNDLE, MANIFEST
#
# Packaging, measured (2026-11-29, xz -6, the same pruning): framework-dependent apps + one runtime 37.7 MB, one
# self-contained folder per app with identical files hard-linked 38.0 MB, all three apps published self-contained into
# one folder 38.4 MB. The first is the smallest and also the cheapest to build (no linux-x64-specific rebuild; CI
# publishes the Release build test.sh just made), so it is the one used. With the data slice the bundle is ~50 MB.
#
# Usage: build/gpu-bundle.sh [--out DIR] [--no-build] [--ci]
#   --out DIR    where convnet-gpu/ and convnet-gpu-bundle.tar.xz go (default: out/)
#   --no-build   publish the existing Release build of the test runner and CLI instead of building again
#   --ci         the CI rehearsal's bundle (build/test-gpu-rehearsal.sh): --no-build (the benchmarks are built all
#                the same: the test run does not build them), a 300/200-image data slice and
#                the fastest xz level; the 60 MB limit is checked on real bundles only
set -euo pipefail
cd "$(dirname "$0")/.."
out=out ci=0 build=()
while [ $# -gt 0 ]; do
  case "$1" in
    --out) out="$2"; shift 2 ;;
    --no-build) build=(--no-build); shift ;;
    --ci) ci=1; build=(--no-build); shift ;;
    -h|--help) sed -n '2,28p' "$0"; exit 0 ;;
    *) echo "gpu-bundle.sh: unknown option $1 (see --help)" >&2; exit 2 ;;
  esac
done
limit_mb=60
mkdir -p "$out"
out="$(cd "$out" && pwd)"
stage="$out/convnet-gpu"
tarball="$out/convnet-gpu-bundle.tar.xz"
rm -rf "$stage" "$tarball"
mkdir -p "$stage"
t0=$(date +%s)

echo "gpu-bundle: publishing the test runner and the CLI (framework-dependent) -> $stage/app" >&2
bash build/publish-app.sh tests/ConvNet.Gpu.Tests "$stage/app" framework-dependent ${build[@]+"${build[@]}"}
for f in ConvNet.Gpu.Tests convnet convnet.dll convnet.runtimeconfig.json libconvnet_cuda_emu.so; do
  [ -e "$stage/app/$f" ] || { echo "gpu-bundle: $stage/app/$f is missing from the test runner's publish" >&2; exit 1; }
done
# ONNX Runtime (29 MB, ~9 MB compressed) serves only the ONNX test classes, which the kit never runs (it runs the CUDA
# suites): leave it out to keep the bundle under its limit. A native asset is loaded on first use, so the runner starts.
rm -f "$stage"/app/runtimes/linux-x64/native/libonnxruntime*.so
# The benchmarks are always built here: build/test.sh's `dotnet test` builds the test projects and what they reference,
# not the benchmarks, so a --no-build publish would pack a stale (or, in a clean clone, missing) build. Incremental:
# the library it references is already built.
echo "gpu-bundle: building and publishing the benchmarks -> $stage/bench" >&2
bash benchmarks/publish-gpu-bench.sh --into "$stage/bench" --framework-dependent

# The one .NET runtime: the Microsoft.NETCore.App the apps were built for (the newest installed 10.0.x), the host
# (dotnet muxer and hostfxr). The apps find it through DOTNET_ROOT, which gpu-run.sh sets.
dotnet_root="$(dirname "$(readlink -f "$(command -v dotnet)")")"
runtime="$(dotnet --list-runtimes | awk '$1 == "Microsoft.NETCore.App" && $2 ~ /^10\./ { v = $2 } END { print v }')"
[ -n "$runtime" ] && [ -d "$dotnet_root/shared/Microsoft.NETCore.App/$runtime" ] \
  || { echo "gpu-bundle: no Microsoft.NETCore.App 10.x under $dotnet_root/shared" >&2; exit 1; }
fxr="$(ls -1 "$dotnet_root/host/fxr" | sort -V | tail -n1)"
mkdir -p "$stage/dotnet/shared/Microsoft.NETCore.App" "$stage/dotnet/host/fxr"
cp -a "$dotnet_root/dotnet" "$stage/dotnet/"
cp -a "$dotnet_root/host/fxr/$fxr" "$stage/dotnet/host/fxr/"
cp -a "$dotnet_root/shared/Microsoft.NETCore.App/$runtime" "$stage/dotnet/shared/Microsoft.NETCore.App/"
for f in LICENSE.txt ThirdPartyNotices.txt; do [ -f "$dotnet_root/$f" ] && cp "$dotnet_root/$f" "$stage/dotnet/"; done

# The data slice (class-balanced, original order) from the installed dataset; else the CLI's built-in sample.
source=/usr/share/datasets/fashion-mnist
mkdir -p "$stage/data"
if [ "$ci" = 1 ]; then per_train=30 per_test=20; else per_train=2000 per_test=1000; fi
if [ -d "$source" ] && command -v python3 >/dev/null 2>&1; then
  python3 build/make-fashion-mnist-sample.py "$source" "$stage/data/fashion-mnist" \
    --train-per-class "$per_train" --test-per-class "$per_test" --raw >&2
else
  echo "gpu-bundle: warning: $source (apt-get install dataset-fashion-mnist) or python3 missing: bundling the CLI's 4,000/1,000-image sample" >&2
  cp -r src/ConvNet.Gpu.Cli/Resources/fashion-mnist-sample "$stage/data/fashion-mnist"
  rm -f "$stage/data/fashion-mnist/README.md"
fi

cp build/gpu-run.sh "$stage/gpu-run.sh"
chmod +x "$stage/gpu-run.sh"
mkdir -p "$stage/tools"
cp build/gpu-results.py "$stage/tools/gpu-results.py"
cp build/gpu-rehearsal-shapes.json "$stage/tools/conv-shapes-tiny.json"
git rev-parse --short HEAD > "$stage/COMMIT" 2>/dev/null || echo unknown > "$stage/COMMIT"
if ! git diff --quiet HEAD 2>/dev/null; then echo "$(cat "$stage/COMMIT")+uncommitted" > "$stage/COMMIT"; fi
echo "framework-dependent apps + .NET $runtime runtime; built $(date -u '+%Y-%m-%d %H:%M UTC')$([ "$ci" = 1 ] && echo ', CI rehearsal bundle')" > "$stage/BUNDLE"
(cd "$stage" && find . -type f -printf '%s\t%p\n' | sort -k2 > MANIFEST)

level=-6
[ "$ci" = 1 ] && level=-0
tar -C "$out" -cf - convnet-gpu | xz "$level" -T0 > "$tarball"
bytes=$(stat -c %s "$tarball")
mb=$(( (bytes + 1048575) / 1048576 ))
echo "gpu-bundle: $tarball: $mb MB ($bytes bytes), $(du -sm "$stage" | cut -f1) MB unpacked, in $(( $(date +%s) - t0 ))s" >&2
if [ "$ci" = 0 ] && [ "$bytes" -gt $(( limit_mb * 1048576 )) ]; then
  echo "gpu-bundle: error: the bundle is over ${limit_mb} MB; the largest parts:" >&2
  du -sm "$stage"/* "$stage"/app/* "$stage"/bench/bin/* 2>/dev/null | sort -rn | head -15 >&2
  exit 1
fi
echo "On the GPU host: tar -xJf $(basename "$tarball") -C /tmp && bash /tmp/convnet-gpu/gpu-run.sh"
