#!/usr/bin/env bash
# Compiles one kernel file to PTX for one target: nvcc when it is on PATH (the lowest compute_XX >= the target that
# this nvcc supports, so newer GPUs JIT it; CUDA 13 dropped compute_70), else clang-14 with no CUDA toolkit at all.
# Two targets are built (build/ConvNet.Kernels.targets): 70 (every GPU we support) and 80 (Ampere and later: the
# kernels' `#if CN_SM80` code, mma.sync and cp.async; kernels/cn_sm80.cuh). The loader picks by compute capability.
# Usage: build/compile-ptx.sh kernels/foo.cu obj/ptx/sm_70/foo.ptx kernels [70|80]
set -euo pipefail
src="$1"
out="$2"
inc="$3"
target="${4:-70}"
mkdir -p "$(dirname "$out")"
if command -v nvcc >/dev/null 2>&1; then
  arch="$(nvcc --list-gpu-arch 2>/dev/null | grep -oE 'compute_[0-9]+' | sed 's/compute_//' | sort -n | awk -v t="$target" '$1 >= t { print "compute_" $1; exit }')"
  arch="${arch:-compute_$target}"
  exec nvcc -ptx -arch="$arch" -O3 -std=c++17 -I "$inc" -o "$out" "$src"
fi
clang="${CN_CLANG:-clang-14}"
if ! command -v "$clang" >/dev/null 2>&1; then
  echo "$src: error: cannot compile kernels to PTX: neither nvcc nor $clang is on PATH (apt-get install clang-14)" >&2
  exit 1
fi
exec "$clang" -x cuda --cuda-device-only -nocudainc -nocudalib --cuda-gpu-arch=sm_$target -O3 -S -std=c++17 -Wall \
  -I "$inc" -o "$out" "$src"
