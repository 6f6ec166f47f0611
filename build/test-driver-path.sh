#!/usr/bin/env bash
# Exercises the real-driver code path (DriverCudaDevice, the driver/cuBLAS bindings, module loading, launches,
# OOM and sticky errors) without a GPU: builds a stand-in libcuda.so.1 and libcublas.so.13
# (tests/ConvNet.Gpu.Tests/Cuda/Device/FakeDriver) whose launches run the kernels through the emulator library,
# then runs the CUDA test suites with them on LD_LIBRARY_PATH, so the "CUDA GPU" test classes run too.
# Usage: build/test-driver-path.sh [extra test-runner arguments]   (after dotnet build tests/ConvNet.Gpu.Tests -c Release)
set -euo pipefail
cd "$(dirname "$0")/.."
bin=tests/ConvNet.Gpu.Tests/bin/Release/net10.0
fake=tests/ConvNet.Gpu.Tests/Cuda/Device/FakeDriver
out="$(mktemp -d)"
trap 'rm -rf "$out"' EXIT
[ -f "$bin/libconvnet_cuda_emu.so" ] || { echo "build the tests first (dotnet build tests/ConvNet.Gpu.Tests -c Release)" >&2; exit 1; }
cxx="$(command -v g++ || command -v clang++ || command -v clang++-14)"
"$cxx" -O1 -std=c++17 -fPIC -shared -o "$out/libcuda.so.1" "$fake/fake_cuda.cpp" \
  -L"$bin" -l:libconvnet_cuda_emu.so -Wl,-rpath,"$(cd "$bin" && pwd)"
# The stand-in cuBLAS queues its GEMMs through the stand-in driver (so stream capture records them too).
"$cxx" -O2 -std=c++17 -fPIC -shared -o "$out/libcublas.so.13" "$fake/fake_cublas.cpp" -L"$out" -l:libcuda.so.1 -Wl,-rpath,"$out"
if [ $# -eq 0 ]; then set -- -namespace ConvNet.Gpu.Tests.Cuda -namespace ConvNet.Gpu.Tests.Cuda.Device; fi
LD_LIBRARY_PATH="$out${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}" "$bin/ConvNet.Gpu.Tests" "$@" && status=0 || status=$?
# The stand-in driver reports compute capability 8.0 (FAKE_CUDA_CC), so the sm_80 PTX set was the one loaded; check
# that a 7.0 device loads the sm_70 set instead.
FAKE_CUDA_CC=70 LD_LIBRARY_PATH="$out${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}" "$bin/ConvNet.Gpu.Tests" \
  -method "ConvNet.Gpu.Tests.Cuda.Device.DriverDeviceTests.Loads_the_PTX_target_of_its_compute_capability_and_says_which" || status=1
# Second pass, in its own process: a sticky error poisons the (stand-in) context for everything after it.
FAKE_CUDA_STICKY_TEST=1 LD_LIBRARY_PATH="$out${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}" "$bin/ConvNet.Gpu.Tests" \
  -method "ConvNet.Gpu.Tests.Cuda.Device.DriverDeviceTests.Sticky_errors_are_reported_and_then_refuse_further_work"
exit $status
