#!/usr/bin/env bash
# Compiles one kernel file to PTX for one target that every supported driver can JIT.
#
# Two targets are built (build/ConvNet.Kernels.targets): 70 (every GPU we support) and 80 (Ampere and later: the
# kernels' `#if CN_SM80` code, mma.sync and cp.async; kernels/cn_sm80.cuh). The loader picks by compute capability.
#
# The oldest supported driver is CUDA 11.0 (R450): it accepts PTX ISA 7.0 and older, so no embedded module may
# declare a newer .version (tests/ConvNet.Gpu.Tests/Cuda/Device/EmbeddedPtxTests.cs reads them back against
# EmbeddedPtx.OldestSupportedDriverVersion). Two compilers:
#   - clang-14 (preferred when present; what CI uses) needs no CUDA toolkit at all; for sm_70 it emits PTX ISA 6.0,
#     for sm_80 ISA 7.0;
#   - nvcc (when clang-14 is absent, or CN_PTX_COMPILER=nvcc) always writes its own toolkit's ISA (9.x with CUDA 13,
#     which every CUDA 12 driver rejects with CUDA_ERROR_UNSUPPORTED_PTX_VERSION), so its .version line is rewritten
#     to the pinned ISA 7.0 and the result is assembled once with the toolkit's ptxas to prove it is valid PTX 7.0
#     (ptxas rejects an instruction that needs a newer ISA than the file declares); a failure stops the build.
#     The architecture is the lowest compute_XX >= the target that this nvcc supports (CUDA 13 dropped compute_70,
#     so its sm_70 set targets compute_75).
# Usage: build/compile-ptx.sh kernels/foo.cu obj/ptx/sm_70/foo.ptx kernels [70|80]
# Environment: CN_PTX_COMPILER=clang|nvcc (default: clang-14 when on PATH, else nvcc), CN_CLANG (default clang-14).
set -euo pipefail
src="$1"
out="$2"
inc="$3"
target="${4:-70}"
pinned_isa="7.0"   # = EmbeddedPtx.PinnedIsaMajor.PinnedIsaMinor: the newest PTX ISA a CUDA 11.0 driver JITs
mkdir -p "$(dirname "$out")"
clang="${CN_CLANG:-clang-14}"
compiler="${CN_PTX_COMPILER:-}"
if [ -z "$compiler" ]; then
  if command -v "$clang" >/dev/null 2>&1; then compiler=clang
  elif command -v nvcc >/dev/null 2>&1; then compiler=nvcc
  else
    echo "$src: error: cannot compile kernels to PTX: neither $clang nor nvcc is on PATH (apt-get install clang-14)" >&2
    exit 1
  fi
fi

case "$compiler" in
  clang)
    command -v "$clang" >/dev/null 2>&1 || { echo "$src: error: CN_PTX_COMPILER=clang but $clang is not on PATH" >&2; exit 1; }
    exec "$clang" -x cuda --cuda-device-only -nocudainc -nocudalib --cuda-gpu-arch=sm_$target -O3 -S -std=c++17 -Wall \
      -I "$inc" -o "$out" "$src"
    ;;
  nvcc)
    command -v nvcc >/dev/null 2>&1 || { echo "$src: error: CN_PTX_COMPILER=nvcc but nvcc is not on PATH" >&2; exit 1; }
    arch="$(nvcc --list-gpu-arch 2>/dev/null | grep -oE 'compute_[0-9]+' | sed 's/compute_//' | sort -n | awk -v t="$target" '$1 >= t { print $1; exit }')"
    arch="${arch:-$target}"
    raw="$out.nvcc.$$"
    trap 'rm -f "$raw" "$raw.cubin" "$raw.log"' EXIT
    nvcc -ptx -arch="compute_$arch" -O3 -std=c++17 -I "$inc" -o "$raw" "$src"
    isa="$(sed -nE 's/^[[:space:]]*\.version[[:space:]]+([0-9]+\.[0-9]+).*/\1/p' "$raw" | head -n1)"
    [ -n "$isa" ] || { echo "$src: error: nvcc wrote PTX without a .version line ($raw)" >&2; exit 1; }
    # Rewrite only the directive line; everything else is nvcc's own output.
    sed -E "0,/^[[:space:]]*\.version[[:space:]]+[0-9]+\.[0-9]+/s//.version $pinned_isa/" "$raw" > "$out"
    if ! command -v ptxas >/dev/null 2>&1; then
      echo "$src: error: ptxas (next to nvcc) is needed to validate the PTX pinned to ISA $pinned_isa" >&2
      rm -f "$out"
      exit 1
    fi
    if ! ptxas -arch="sm_$arch" -o "$raw.cubin" "$out" 2> "$raw.log"; then
      echo "$src: error: nvcc's PTX (ISA $isa) is not valid as PTX ISA $pinned_isa, the newest the oldest supported driver (CUDA 11.0) accepts:" >&2
      cat "$raw.log" >&2
      rm -f "$out"
      exit 1
    fi
    ;;
  *)
    echo "$src: error: CN_PTX_COMPILER must be clang or nvcc, got '$compiler'" >&2
    exit 1
    ;;
esac
