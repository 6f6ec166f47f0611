#!/usr/bin/env bash
# The README's test command: set up a fresh machine, build everything (kernels to PTX, the emulated
# CUDA device) and run the whole test suite on every backend available here.
set -euo pipefail
cd "$(dirname "$0")/.."
source build/prereqs.sh
dotnet test ConvNet.Gpu.sln -c Release "$@"
