#!/usr/bin/env bash
# Builds the stand-in CUDA driver and cuBLAS (the cuBLAS queues through the driver, so graph capture records GEMMs) (tests/ConvNet.Gpu.Tests/Cuda/Device/FakeDriver) into OUT_DIR:
#   libcuda.so.1     the driver API on host memory; launches run the real kernels through libconvnet_cuda_emu.so
#   libcublas.so.13  reports cuBLAS 13.1.0;  libcublas.so.12  reports cuBLAS 12.8.4 (the same SGEMM)
# With OUT_DIR on LD_LIBRARY_PATH, ConvNet.Gpu's real-driver code path (DriverCudaDevice, the bindings, module loading,
# cuBLAS selection by driver version, OOM and sticky errors) runs without a GPU. Test tool only: never shipped.
# Usage: build/build-stand-in-driver.sh OUT_DIR EMULATOR_LIBRARY
#   EMULATOR_LIBRARY: the libconvnet_cuda_emu.so the stand-in links to (its directory becomes its rpath).
set -euo pipefail
cd "$(dirname "$0")/.."
out="$1"
emu="$2"
fake=tests/ConvNet.Gpu.Tests/Cuda/Device/FakeDriver
[ -f "$emu" ] || { echo "build-stand-in-driver.sh: $emu not found (dotnet build the tests first)" >&2; exit 1; }
cxx="$(command -v g++ || command -v clang++ || command -v clang++-14)"
emu_dir="$(cd "$(dirname "$emu")" && pwd)"
mkdir -p "$out"
"$cxx" -O1 -std=c++17 -fPIC -shared -o "$out/libcuda.so.1" "$fake/fake_cuda.cpp" \
  -L"$emu_dir" -l:"$(basename "$emu")" -Wl,-rpath,"$emu_dir"
# The stand-in cuBLAS queues its GEMMs through the stand-in driver (fake_cuda_enqueue), so stream capture records them too.
out_abs="$(cd "$out" && pwd)"
"$cxx" -O2 -std=c++17 -fPIC -shared -DFAKE_CUBLAS_MAJOR=13 -o "$out/libcublas.so.13" "$fake/fake_cublas.cpp" \
  -L"$out_abs" -l:libcuda.so.1 -Wl,-rpath,"$out_abs"
"$cxx" -O2 -std=c++17 -fPIC -shared -DFAKE_CUBLAS_MAJOR=12 -o "$out/libcublas.so.12" "$fake/fake_cublas.cpp" \
  -L"$out_abs" -l:libcuda.so.1 -Wl,-rpath,"$out_abs"
