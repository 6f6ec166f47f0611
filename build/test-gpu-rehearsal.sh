#!/usr/bin/env bash
# The CI rehearsal of the GPU bring-up kit (build/test.sh runs it after the test suites): builds the bundle exactly as
# build/gpu-bundle.sh does (--ci: the Release build just made, a tiny data slice, fast compression), unpacks it
# somewhere else, and runs its gpu-run.sh --rehearsal against the stand-in libcuda.so.1 / libcublas.so.13
# (build/build-stand-in-driver.sh, linked to the bundle's own emulator library), with no .NET SDK on PATH. Then:
#   1. the run must pass and its results file must hold what a GPU run records: passing CUDA test counts, the
#      side-by-side table's rows, the training run's accuracy, the convolution-algorithm rows, the NCCL smoke stage
#      (unavailable here, with the reason: CI has no libnccl.so.2), the versions of the (stand-in) driver and cuBLAS;
#   2. a run whose tests fail (the stand-in given too little device memory) must exit non-zero and still write the
#      results file, naming the failures;
#   3. on a CUDA 12.8 driver with only cuBLAS 13 (nothing usable) the kit must report why and not fail.
# So a broken bundle, script or results writer fails CI long before a GPU is lent.
# Usage: build/test-gpu-rehearsal.sh   (after dotnet build / dotnet test of the solution in Release)
set -euo pipefail
cd "$(dirname "$0")/.."
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
t0=$(date +%s)
fail() { echo "gpu rehearsal: FAILED: $*" >&2; exit 1; }

bash build/gpu-bundle.sh --ci --out "$work/build" >&2
mkdir -p "$work/host"
tar -xJf "$work/build/convnet-gpu-bundle.tar.xz" -C "$work/host"
kit="$work/host/convnet-gpu"
bash build/build-stand-in-driver.sh "$work/driver" "$kit/app/libconvnet_cuda_emu.so"

run_kit() { env LD_LIBRARY_PATH="$work/driver" "$@"; }
# A GPU host has no .NET: the apps must run on the bundle's runtime, not on this machine's SDK (the host trace names
# the hostfxr it loads).
fxr="$(env DOTNET_ROOT="$kit/dotnet" COREHOST_TRACE=1 COREHOST_TRACE_VERBOSITY=4 "$kit/app/convnet" --version 2>&1 >/dev/null \
  | grep -m1 -oE "[^ \[]*libhostfxr\.so" || true)"
case "$fxr" in "$kit/dotnet/"*) ;; *) fail "the bundle's apps load hostfxr from '${fxr:-nowhere}', not from the bundle's runtime $kit/dotnet" ;; esac

echo "gpu rehearsal: gpu-run.sh --rehearsal (stand-in driver)" >&2
if ! run_kit OUT="$work/results" bash "$kit/gpu-run.sh" --rehearsal --archive "$work/results.tar.gz" > "$work/run.log" 2>&1; then
  cat "$work/run.log" >&2
  for f in "$work"/results/logs/*.log; do echo "--- $f" >&2; tail -n 40 "$f" >&2; done
  fail "gpu-run.sh --rehearsal exited non-zero"
fi
results="$work/results/results.md"
[ -f "$results" ] || fail "no results.md"
ls "$work"/results/*-rehearsal.md >/dev/null 2>&1 || fail "no <date>-<gpu>-rehearsal.md copy of the results"
packed="$(tar -tzf "$work/results.tar.gz" 2>/dev/null || true)"   # listed whole: grep -q would cut tar's pipe
grep -qx 'results/results.md' <<< "$packed" || fail "--archive did not pack results/results.md"
check() { grep -qE "$1" "$results" || { cat "$results" >&2; fail "results.md lacks: $2 (/$1/)"; }; }
check '^\| env \| \*\*passed\*\*' "a passed env stage"
check '^\| tests \| \*\*passed\*\*' "a passed tests stage"
check '^\| compare-tf32-off \| \*\*passed\*\*' "a passed side-by-side stage"
check '^\| train \| \*\*passed\*\*' "a passed training stage"
check '^\| nccl-smoke \| \*\*unavailable\*\* .*NCCL unavailable, because' "the NCCL smoke stage unavailable with the reason"
check '^\| conv-algorithms-tf32-off \| \*\*passed\*\*' "a passed conv-algorithms stage"
check '^\| conv-algorithms-tf32-on \| \*\*skipped\*\* .*not run in rehearsal mode' "the TF32 conv-algorithms stage skipped with the reason"
check '^\| conv-backward-weights \| lenet-c3 \| [0-9.]+\*? \| [0-9.]+\*? \| .*\| [0-9.]+ \| [A-Za-z0-9]+ \|$' "the conv-algorithms rows (ms per algorithm, the autotuned choice)"
check '^\| memcheck \| \*\*skipped\*\* .*not run in rehearsal mode' "the sanitizer stages skipped with the reason"
check '^Tests: [1-9][0-9]* passed, 0 failed' "passing CUDA test counts"
check '^\| GPU \| Fake CUDA driver \(test\)' "the GPU name"
check '^\| cuBLAS choice \| libcublas\.so\.13 \(cuBLAS 13\.1\.0' "the cuBLAS choice and its reason"
check '^\| driver \(cuDriverGetVersion\) \| 13\.0' "the driver version"
check '^\| conv-forward +\| rehearsal-3x3' "the side-by-side table's conv rows"
check '^\| lenet5-epoch ' "the epoch rows"
check '^\| lenet5-step-device +\| batch 4 +\| +[0-9.]+ ' "the device-loop step row (issue 12's eager loop)"
check '^\| lenet5-step-graph +\| batch 4 +\| +[0-9.]+ ' "the CUDA-graph step row (issue 12's graph loop)"
check '^\| 1 \| [0-9.]+ \| [0-9.]+ % ' "the training run's per-epoch row"
check '^Final test accuracy [0-9.]+ %' "the training accuracy"

# A failing run: a stand-in GPU with 4 KB of memory makes the GPU suites fail (out of memory); gpu-run.sh must exit
# non-zero, name the failures and still write the results.
echo "gpu rehearsal: a failing run must fail" >&2
if run_kit OUT="$work/failing" FAKE_CUDA_MEMORY_BYTES=4096 bash "$kit/gpu-run.sh" --rehearsal --only tests > "$work/failing.log" 2>&1; then
  cat "$work/failing.log" >&2
  fail "gpu-run.sh exited 0 although CUDA tests failed"
fi
grep -qE '^\| tests \| \*\*failed\*\*' "$work/failing/results.md" || fail "the failing run's results.md does not say the tests stage failed"
grep -qE '^Tests: [0-9]+ passed, [1-9][0-9]* failed' "$work/failing/results.md" || fail "the failing run's results.md has no failure count"
grep -qE '^- `ConvNet\.Gpu\.Tests\.Cuda\.' "$work/failing/results.md" || fail "the failing run's results.md does not list the failed tests"

# A CUDA 12.8 driver host with only cuBLAS 13 installed (no cuBLAS it can run): the kit reports and does not crash.
# The env stage passes saying why CUDA is unusable, the stages that need CUDA end "unavailable" with that reason, and
# the run exits 0 (nothing failed).
echo "gpu rehearsal: a CUDA 12 driver without a usable cuBLAS is reported, not crashed on" >&2
mkdir -p "$work/only13"
cp "$work/driver/libcuda.so.1" "$work/driver/libcublas.so.13" "$work/only13/"
env LD_LIBRARY_PATH="$work/only13" FAKE_CUDA_DRIVER_VERSION=12080 OUT="$work/old-driver" bash "$kit/gpu-run.sh" --only env,train \
  > "$work/old-driver.log" 2>&1 || { cat "$work/old-driver.log" >&2; fail "gpu-run.sh failed on a CUDA 12.8 driver host without cuBLAS 12"; }
old="$work/old-driver/results.md"
grep -qE '^\| env \| \*\*passed\*\*' "$old" || fail "CUDA 12 host: the env stage did not pass"
grep -qE '^\| train \| \*\*unavailable\*\* .*no cuBLAS this driver \(CUDA 12\.8\) can run' "$old" \
  || { cat "$old" >&2; fail "CUDA 12 host: the train stage does not say CUDA is unavailable and why"; }
grep -qE '^\| ConvNet\.Gpu CUDA \| unavailable: cuBLAS unusable' "$old" || fail "CUDA 12 host: results.md lacks the reason"

passed=$(grep -oE '^Tests: [0-9]+' "$results" | grep -oE '[0-9]+')
echo "gpu rehearsal: OK in $(( $(date +%s) - t0 ))s (bundle $(du -m "$work/build/convnet-gpu-bundle.tar.xz" | cut -f1) MB at xz -0; $passed CUDA tests passed on the stand-in; the failing run exited non-zero with its results written; a CUDA 12 driver host without cuBLAS 12 was reported)"
