#!/usr/bin/env bash
# Exercises the real-driver code path (DriverCudaDevice, the driver/cuBLAS bindings, module loading and the PTX target
# choice, cuBLAS selection by driver version, launches, OOM and sticky errors) without a GPU: builds a stand-in
# libcuda.so.1, libcublas.so.13 and libcublas.so.12 (build/build-stand-in-driver.sh) whose launches run the kernels
# through the emulator library, then runs the CUDA test suites with them on LD_LIBRARY_PATH, so the "CUDA GPU" test
# classes run too. Passes, each in its own process (what they set up is per process):
#   1. the CUDA suites (the driver reports CUDA 13.0 and compute capability 8.0: cuBLAS 13 and the sm_80 PTX set);
#   2. a compute capability 7.0 device loads the sm_70 PTX set (FAKE_CUDA_CC=70);
#   3. sticky errors: a kernel fault poisons the context; reporting, refusal, and Dispose releasing everything;
#   4. a CUDA 12.8 driver with cuBLAS 13 and 12 installed: cuBLAS 12 is chosen, and says why;
#   5. a CUDA 12.8 driver with only cuBLAS 13: CUDA is unavailable with the reason and Backend.Default() takes the CPU.
# Usage: build/test-driver-path.sh [extra test-runner arguments for pass 1]   (after dotnet build tests/ConvNet.Gpu.Tests -c Release)
set -euo pipefail
cd "$(dirname "$0")/.."
bin=tests/ConvNet.Gpu.Tests/bin/Release/net10.0
out="$(mktemp -d)"
trap 'rm -rf "$out"' EXIT
[ -f "$bin/libconvnet_cuda_emu.so" ] || { echo "build the tests first (dotnet build tests/ConvNet.Gpu.Tests -c Release)" >&2; exit 1; }
bash build/build-stand-in-driver.sh "$out" "$bin/libconvnet_cuda_emu.so"
mkdir -p "$out/only13"
cp "$out/libcuda.so.1" "$out/libcublas.so.13" "$out/only13/"
runner="$bin/ConvNet.Gpu.Tests"
path="${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
status=0

if [ $# -eq 0 ]; then set -- -namespace ConvNet.Gpu.Tests.Cuda -namespace ConvNet.Gpu.Tests.Cuda.Device; fi
LD_LIBRARY_PATH="$out$path" "$runner" "$@" || status=$?
FAKE_CUDA_CC=70 LD_LIBRARY_PATH="$out$path" "$runner" \
  -method "ConvNet.Gpu.Tests.Cuda.Device.DriverDeviceTests.Loads_the_PTX_target_of_its_compute_capability_and_says_which" || status=1
FAKE_CUDA_STICKY_TEST=1 LD_LIBRARY_PATH="$out$path" "$runner" \
  -class "ConvNet.Gpu.Tests.Cuda.Device.DriverDeviceTests" -method "*ticky_error*" || status=$?
FAKE_CUDA_DRIVER_VERSION=12080 FAKE_CUBLAS_SCENARIO=choose-12 LD_LIBRARY_PATH="$out$path" "$runner" \
  -class "ConvNet.Gpu.Tests.Cuda.Device.CublasByDriverVersionTests" || status=$?
FAKE_CUDA_DRIVER_VERSION=12080 FAKE_CUBLAS_SCENARIO=none-usable LD_LIBRARY_PATH="$out/only13$path" "$runner" \
  -class "ConvNet.Gpu.Tests.Cuda.Device.CublasByDriverVersionTests" || status=$?
exit $status
