#!/usr/bin/env bash
# Compiles one kernel file to PTX: nvcc when it is on PATH (the lowest compute_XX >= 70 that this nvcc supports,
# so newer GPUs JIT it; CUDA 13 dropped compute_70), else clang-14 with no CUDA toolkit at all.
# Usage: build/compile-ptx.sh kernels/foo.cu obj/ptx/foo.ptx kernels
set -euo pipefail
src="$1"
out="$2"
inc="$3"
mkdir -p "$(dirname "$out")"
if command -v nvcc >/dev/null 2>&1; then
  arch="$(nvcc --list-gpu-arch 2>/dev/null | grep -oE 'compute_[0-9]+' | sed 's/compute_//' | sort -n | awk '$1 >= 70 { print "compute_" $1; exit }')"
  arch="${arch:-compute_70}"
  exec nvcc -ptx -arch="$arch" -O3 -std=c++17 -I "$inc" -o "$out" "$src"
fi
clang="${CN_CLANG:-clang-14}"
if ! command -v "$clang" >/dev/null 2>&1; then
  echo "$src: error: cannot compile kernels to PTX: neither nvcc nor $clang is on PATH (apt-get install clang-14)" >&2
  exit 1
fi
exec "$clang" -x cuda --cuda-device-only -nocudainc -nocudalib --cuda-gpu-arch=sm_70 -O3 -S -std=c++17 -Wall \
  -I "$inc" -o "$out" "$src"
