#!/usr/bin/env bash
# Compiles one kernel file for the emulated CUDA device: generates its registration unit, then compiles it as host
# C++ (-DCN_EMULATE) into an object of libconvnet_cuda_emu.so.
# Usage: build/build-emu-object.sh <c++ compiler> kernels/foo.cu obj/emu/foo.o kernels
set -euo pipefail
cxx="$1"
src="$2"
obj="$3"
inc="$4"
unit="${obj%.o}.cpp"
"$(dirname "$0")/gen-emu-unit.sh" "$src" "$unit"
exec "$cxx" -c -O2 -g0 -fPIC -fvisibility=hidden -std=c++17 -DCN_EMULATE -Wall -Wno-unused-function \
  -I "$inc" -o "$obj" "$unit"
