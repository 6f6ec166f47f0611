#!/usr/bin/env bash
# The README's test command: set up a fresh machine, build everything (kernels to PTX, the emulated CUDA device),
# run the whole test suite on every backend available here, run the CUDA suites once more through the real-driver
# code path (stand-in libcuda/libcublas backed by the emulator), rehearse the GPU bring-up kit (build the bundle and
# run its gpu-run.sh --rehearsal against the stand-in driver), then the NuGet consumer check.
# The last line is a plain "tests: N passed, N failed, N skipped" summed over the test runs.
set -euo pipefail
cd "$(dirname "$0")/.."
source build/prereqs.sh

log=$(mktemp)
driver_log=$(mktemp)
rehearsal_log=$(mktemp)
trap 'rm -f "$log" "$driver_log" "$rehearsal_log"' EXIT
status=0

dotnet test ConvNet.Gpu.sln -c Release "$@" 2>&1 | tee "$log" || status=$?

if [ -f tests/ConvNet.Gpu.Tests/bin/Release/net10.0/libconvnet_cuda_emu.so ]; then
  echo "driver path: the CUDA suites through the stand-in libcuda.so.1 / libcublas.so.13"
  bash build/test-driver-path.sh > "$driver_log" 2>&1 || { status=$?; cat "$driver_log"; }
  sed 's/\x1b\[[0-9;]*m//g' "$driver_log" | grep -E "Total:" || true
else
  echo "driver path: skipped (the emulator library was not built: no C++ compiler?)"
fi

if [ -f tests/ConvNet.Gpu.Tests/bin/Release/net10.0/libconvnet_cuda_emu.so ] && [ -z "${CONVNET_SKIP_GPU_REHEARSAL:-}" ]; then
  echo "gpu kit: the bundle and gpu-run.sh --rehearsal against the stand-in driver"
  bash build/test-gpu-rehearsal.sh > "$rehearsal_log" 2>&1 || { status=$?; cat "$rehearsal_log"; }
  tail -n 1 "$rehearsal_log"
else
  echo "gpu kit: skipped (no emulator library, or CONVNET_SKIP_GPU_REHEARSAL set)"
fi

if [ -z "${CONVNET_SKIP_PACKAGE_TEST:-}" ]; then
  echo "package: the NuGet consumer check"
  bash build/test-package.sh || status=$?
fi

# dotnet test prints "Passed!  - Failed: F, Passed: P, Skipped: S, ..."; the xunit.v3 runner "Total: T, Errors: E, Failed: F, Skipped: S".
sed 's/\x1b\[[0-9;]*m//g' "$log" "$driver_log" | awk '
  /(Passed|Failed)! +- +Failed:/ { for (i = 1; i < NF; i++) { v = $(i+1); gsub(",", "", v)
      if ($i == "Failed:") f += v; else if ($i == "Passed:") p += v; else if ($i == "Skipped:") s += v } }
  /Total: [0-9]+, Errors:/ { for (i = 1; i < NF; i++) { v = $(i+1); gsub(",", "", v)
      if ($i == "Total:") t = v; else if ($i == "Errors:") e = v; else if ($i == "Failed:") ff = v; else if ($i == "Skipped:") ss = v }
      p += t - e - ff - ss; f += ff + e; s += ss }
  END { printf "tests: %d passed, %d failed, %d skipped\n", p, f, s }'
exit $status
