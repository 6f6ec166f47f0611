#!/usr/bin/env bash
# The README's test command: set up a fresh machine, build everything (kernels to PTX, the emulated
# CUDA device) and run the whole test suite on every backend available here, then the NuGet consumer check.
set -euo pipefail
cd "$(dirname "$0")/.."
source build/prereqs.sh

log=$(mktemp)
trap 'rm -f "$log"' EXIT
status=0
dotnet test ConvNet.Gpu.sln -c Release "$@" 2>&1 | tee "$log" || status=$?

# One plain closing line that any CI reader understands, summed over the test assemblies.
awk '/(Passed|Failed)! +- +Failed:/ {
        for (i = 1; i <= NF; i++) { gsub(",", "", $(i+1)); if ($i == "Failed:") f += $(i+1); if ($i == "Passed:") p += $(i+1); if ($i == "Skipped:") s += $(i+1) }
     }
     END { printf "tests: %d passed, %d failed, %d skipped\n", p, f, s }' "$log"

# The NuGet consumer check: pack, build samples/QuickStart against the package from a local feed, run it.
if [ "${CONVNET_SKIP_PACKAGE_TEST:-}" = "" ]; then
  bash build/test-package.sh || status=$?
fi
exit $status
