#!/usr/bin/env bash
# Compiles one kernel file for the emulated CUDA device: generates its registration unit, then compiles it as host
# C++ (-DCN_EMULATE) into an object of libconvnet_cuda_emu.so. -mfma -ffp-contract=fast contracts a*b + c into one
# fused multiply-add as nvcc (-fmad=true) and clang (CUDA's -ffp-contract=fast) do for the GPU, so results round like
# GPU results do, not like unfused host arithmetic (docs/gpu-numerics.md); the library then needs a CPU with FMA
# (x86-64 since Haswell/Piledriver), which EmulatedCudaDevice checks before loading it.
# Usage: build/build-emu-object.sh <c++ compiler> kernels/foo.cu obj/emu/foo.o kernels
set -euo pipefail
cxx="$1"
src="$2"
obj="$3"
inc="$4"
unit="${obj%.o}.cpp"
"$(dirname "$0")/gen-emu-unit.sh" "$src" "$unit"
exec "$cxx" -c -O2 -g0 -fPIC -fvisibility=hidden -std=c++17 -DCN_EMULATE -mfma -ffp-contract=fast -Wall -Wno-unused-function \
  -I "$inc" -o "$obj" "$unit"
