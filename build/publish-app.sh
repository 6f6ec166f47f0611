#!/usr/bin/env bash
# Publishes one .NET project of this repository for a linux-x64 GPU host without .NET (shared gpu-host notes), then
# drops what such a host never loads: native assets of other platforms (runtimes/<other rid>/), and the test SDK's
# code-coverage and instrumentation payloads (CodeCoverage/, msdia, instrumentation engines, per-architecture folders),
# none of which the app's .deps.json lists. Checks that ConvNet.Gpu.dll carries the embedded PTX.
# Used by build/publish-gpu-tests.sh, benchmarks/publish-gpu-bench.sh and build/gpu-bundle.sh.
#
# Usage: build/publish-app.sh PROJECT OUT_DIR self-contained|framework-dependent [--no-build]
#   self-contained:      -r linux-x64 --self-contained (the .NET runtime inside OUT_DIR; runs anywhere as is)
#   framework-dependent: portable, no runtime (run with DOTNET_ROOT pointing at a runtime, e.g. the GPU bundle's)
#   --no-build:          publish the existing Release build (build/test.sh has just made it) instead of building again
set -euo pipefail
cd "$(dirname "$0")/.."
project="$1"
out="$2"
mode="$3"
shift 3
args=(-c Release -o "$out" -p:DebugType=none -p:GenerateDocumentationFile=false -nologo -v q)
case "$mode" in
  self-contained) args+=(-r linux-x64 --self-contained) ;;
  framework-dependent) ;;
  *) echo "publish-app.sh: mode must be self-contained or framework-dependent, got '$mode'" >&2; exit 2 ;;
esac
for a in "$@"; do
  case "$a" in
    --no-build) [ "$mode" = framework-dependent ] && args+=(--no-build) ;;  # a RID-specific publish needs its own build
    *) echo "publish-app.sh: unknown option $a" >&2; exit 2 ;;
  esac
done
rm -rf "$out"
dotnet publish "$project" "${args[@]}"

# Native assets of other platforms: the host only probes linux-x64, linux, unix (and their managed RID folders).
if [ -d "$out/runtimes" ]; then
  for d in "$out"/runtimes/*; do
    case "$(basename "$d")" in linux-x64|linux|unix) ;; *) rm -rf "$d" ;; esac
  done
fi
# The test SDK's code coverage and instrumentation engines, and Windows debug-interface DLLs: content files that no
# .deps.json lists and that an in-process xunit.v3 run never loads.
rm -rf "$out"/CodeCoverage "$out"/alpine "$out"/macos "$out"/ubuntu "$out"/arm64 "$out"/x64 "$out"/x86 "$out"/amd64
rm -f "$out"/Microsoft.CodeCoverage.*.dll "$out"/Microsoft.CodeCoverage.props "$out"/Microsoft.CodeCoverage.targets \
      "$out"/Mono.Cecil*.dll "$out"/Microsoft.DiaSymReader.dll "$out"/Microsoft.VisualStudio.CodeCoverage.Shim.dll \
      "$out"/Microsoft.VisualStudio.TraceDataCollector.dll "$out"/xunit.runner.visualstudio.testadapter.dll
# Nothing that the app's .deps.json names may be gone.
for deps in "$out"/*.deps.json; do
  for name in Microsoft.CodeCoverage Mono.Cecil Microsoft.DiaSymReader TraceDataCollector xunit.runner.visualstudio; do
    if grep -q "\"[^\"]*$name[^\"]*\.dll\"" "$deps"; then
      echo "publish-app.sh: $deps lists $name, which this script removes; update the pruning list" >&2
      exit 1
    fi
  done
done
grep -c "ConvNet.Gpu.Kernels." "$out/ConvNet.Gpu.dll" >/dev/null || { echo "publish-app.sh: no embedded PTX in $out/ConvNet.Gpu.dll" >&2; exit 1; }
[ -f "$out/libconvnet_cuda_emu.so" ] || echo "publish-app.sh: warning: libconvnet_cuda_emu.so missing from $out (no C++ compiler at build time?)" >&2
