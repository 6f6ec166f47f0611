#!/usr/bin/env bash
# gpu-run.sh: the GPU bring-up kit's one command. Run it first on any GPU host you are lent, as one prepared call:
#
#   tar -xJf convnet-gpu-bundle.tar.xz -C /tmp && bash /tmp/convnet-gpu/gpu-run.sh
#
# In at most 9 minutes (--budget; docs/gpu-bring-up.md sizes it against a 15-minute device lease) it proves and
# measures ConvNet.Gpu's CUDA backend, needing neither .NET (the bundle carries its runtime) nor a network. Stages, in
# order, each with its own time budget (a stage is skipped, saying so, when too little of the whole budget is left, and
# stopped when it overruns its own):
#   env               nvidia-smi, driver, CUDA toolkit, cuBLAS, compute-sanitizer, PyTorch, `convnet info`
#   tests             the CUDA test suites (the real-GPU classes included; the emulated ones run too), pass/fail counts
#   nccl-smoke        the NCCL smoke test (one-rank all-reduce on device memory); "unavailable" with the reason when
#                     libnccl.so.2 is absent (the Python's nvidia-nccl wheel is put on the library path when it has one)
#   memcheck          compute-sanitizer --tool memcheck over the CUDA op suites, memory pool off (CONVNET_CUDA_POOL=0)
#   racecheck         compute-sanitizer --tool racecheck over the suites whose kernels use shared memory
#   compare-tf32-off  the side-by-side table against PyTorch + cuDNN (ops, SGEMM, training steps and epochs of LeNet-5
#                     and the small VGG, PyTorch eager and with CUDA graphs), TF32 off on both sides
#   compare-tf32-on   the same with TF32 allowed on both sides
#   train             `convnet train` of LeNet-5 on the GPU for 3 epochs on the bundled Fashion-MNIST slice
#   conv-algorithms-tf32-off, -on   bench/conv-algorithms.sh: every conv algorithm forced and autotuned, per shape and
#                     pass, next to cuDNN (cudnn.benchmark), FP32 then TF32
# Everything goes under $OUT (default ./gpu-results): one log per stage, the raw JSON/XML, and results.md plus a copy
# named <date>-<gpu>.md, ready to commit as benchmarks/results/<date>-<gpu>.md. The results file is written whatever
# happens; the exit status is non-zero when a test or sanitizer stage failed (or any stage, in --rehearsal).
#
# Options: --out DIR  --budget SECONDS (default 540)  --only STAGE[,STAGE...]  --list (print the stage table)
#          --archive FILE (also pack the whole output folder into FILE, a .tar.gz: one file to bring back)
#          --rehearsal (CI: tiny sizes against the stand-in libcuda/libcublas, no sanitizer and no PyTorch)
# Environment: OUT, CONVNET_PEER_PYTHON (the Python with torch; default python3).
#
# Adding a stage is one line in STAGES below: name, budget in seconds, the modes it runs in, and its command (a
# stage_* function here, or any command line run from the bundle directory with $OUT, $app, $bench and $data set).
# A stage passes when its command exits 0; it writes whatever it likes under $OUT, and its output goes to
# $OUT/logs/<name>.log. tools/gpu-results.py lists every stage in the results file; give it a section for new output.
set -uo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
app="$here/app"       # the test runner, the convnet CLI and their dependencies (framework-dependent)
bench="$here/bench"   # compare.sh, the PyTorch peer, the shape table and bench/bin (the benchmark executable)
data="$here/data/fashion-mnist"
tools="$here/tools"

OUT="${OUT:-$PWD/gpu-results}"
mode=full budget="" only="" reserve=15 archive=""
usage() { sed -n '2,37p' "$0"; }
while [ $# -gt 0 ]; do
  case "$1" in
    --out) OUT="$2"; shift 2 ;;
    --budget) budget="$2"; shift 2 ;;
    --only) only="$2"; shift 2 ;;
    --archive) archive="$2"; shift 2 ;;
    --rehearsal) mode=rehearsal; shift ;;
    --list) mode=list; shift ;;
    -h|--help) usage; exit 0 ;;
    *) echo "gpu-run.sh: unknown option $1 (see --help)" >&2; exit 2 ;;
  esac
done
# The rehearsal runs every kernel through the emulator on CI's CPUs: its budgets are three times the GPU's, so a loaded CI
# machine does not time it out (its point is the script and the bundle, not the time).
scale=1; [ "$mode" = rehearsal ] && scale=3
budget="${budget:-$(( 540 * scale ))}"
case "$budget" in ''|*[!0-9]*) echo "gpu-run.sh: --budget takes whole seconds" >&2; exit 2 ;; esac

# ------------------------------------------------------------------------------------------------------------ stages
#      name              budget  modes            command
STAGES=(
  "env                      20     full,rehearsal   stage_env"
  "tests                    100    full,rehearsal   stage_tests"
  "nccl-smoke               15     full,rehearsal   stage_nccl"
  "memcheck                 65     full             stage_sanitizer memcheck"
  "racecheck                45     full             stage_sanitizer racecheck"
  "compare-tf32-off         90     full,rehearsal   stage_compare off"
  "compare-tf32-on          55     full             stage_compare on"
  "train                    30     full,rehearsal   stage_train"
  "conv-algorithms-tf32-off 50     full,rehearsal   stage_conv_algorithms off"
  "conv-algorithms-tf32-on  55     full             stage_conv_algorithms on"
)
# Stages whose "unavailable" is expected in the rehearsal (CI has no NCCL); elsewhere in the rehearsal it is a failure.
REHEARSAL_MAY_BE_UNAVAILABLE=",nccl-smoke,"

if [ "$mode" = list ]; then printf '%s\n' "${STAGES[@]}"; exit 0; fi

# ------------------------------------------------------------------------------------------------------------ set-up
mkdir -p "$OUT/logs" || { echo "gpu-run.sh: cannot create $OUT" >&2; exit 2; }
OUT="$(cd "$OUT" && pwd)"
export OUT
# The bundle's own .NET runtime (framework-dependent apps find it through DOTNET_ROOT); no SDK, no network.
[ -x "$here/dotnet/dotnet" ] && export DOTNET_ROOT="$here/dotnet"
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1 DOTNET_SKIP_FIRST_TIME_EXPERIENCE=1
# The CUDA toolkit's binaries (compute-sanitizer, nvcc) when they are not on PATH.
for d in /usr/local/cuda/bin /usr/local/cuda/compute-sanitizer; do [ -d "$d" ] && PATH="$PATH:$d"; done
export PATH
py="${CONVNET_PEER_PYTHON:-python3}"
start=$(date +%s)
printf 'stage\tstatus\tseconds\tbudget\tnote\n' > "$OUT/stages.tsv"
{
  echo "mode=$mode"
  echo "budget=$budget"
  echo "started=$(date -u '+%Y-%m-%d %H:%M:%S UTC')"
  echo "commit=$(cat "$here/COMMIT" 2>/dev/null || echo unknown)"
  echo "bundle=$(cat "$here/BUNDLE" 2>/dev/null || echo unknown)"
  echo "host=$(uname -n)"
  echo "load_start=$(cut -d' ' -f1-3 /proc/loadavg 2>/dev/null)"
} > "$OUT/run.env"

note() { echo "$*" >> "$OUT/logs/$stage_name.notes"; }

# Stages that need a usable CUDA device first ask `convnet info` (the env stage's copy when there is one): on a host
# where CUDA cannot be used (no driver, a driver older than the PTX, no cuBLAS the driver runs) they report why and end
# "unavailable" (exit 3) instead of failing.
require_cuda() {
  local line
  line="$(grep -m1 '^CUDA: ' "$OUT/logs/env.log" 2>/dev/null)"
  [ -n "$line" ] || line="$("$app/convnet" info 2>/dev/null | grep -m1 '^CUDA: ')"
  case "$line" in "CUDA: available"*) return 0 ;; esac
  echo "CUDA is not usable here: ${line#CUDA: }"
  return 3
}

# ------------------------------------------------------------------------------------------------------------ stage bodies
stage_env() {
  echo "## host"; uname -a; grep -m1 'model name' /proc/cpuinfo; echo "cores: $(nproc)"; free -g 2>/dev/null | head -2
  echo "## nvidia-smi"
  if command -v nvidia-smi >/dev/null 2>&1; then
    nvidia-smi
    nvidia-smi --query-gpu=name,driver_version,memory.total,compute_cap,clocks.max.sm,power.limit --format=csv
  else
    echo "nvidia-smi: not found"
  fi
  echo "## CUDA toolkit"
  if command -v nvcc >/dev/null 2>&1; then nvcc --version; else echo "nvcc: not found"; fi
  if command -v compute-sanitizer >/dev/null 2>&1; then compute-sanitizer --version; else echo "compute-sanitizer: not found"; fi
  echo "## libraries"
  ldconfig -p 2>/dev/null | grep -E 'libcuda\.so|libcublas(Lt)?\.so|libcudnn\.so|libnccl\.so' || echo "(none in the ldconfig cache)"
  ls -l /usr/local/cuda/lib64/libcublas.so* 2>/dev/null || true
  echo "LD_LIBRARY_PATH=${LD_LIBRARY_PATH:-}"
  echo "## python"
  "$py" - <<'PYEOF' 2>&1 || echo "python: $py failed"
import platform, sys
print("python", platform.python_version())
try:
    import torch
    print("torch", torch.__version__, "cuda", torch.version.cuda, "cudnn", torch.backends.cudnn.version(),
          "device", torch.cuda.get_device_name(0) if torch.cuda.is_available() else "none")
except Exception as e:
    print("torch: unavailable:", e)
PYEOF
  echo "## convnet info"
  "$app/convnet" info
}

# The CUDA suites: every class in the Cuda namespaces (real-GPU classes, *_CudaGpu*, run on the GPU; the emulated
# ones on the CPU). In the rehearsal the GPU classes only, against the stand-in driver.
stage_tests() {
  local filters=(-namespace ConvNet.Gpu.Tests.Cuda -namespace ConvNet.Gpu.Tests.Cuda.Device)
  [ "$mode" = rehearsal ] && filters=(-class "*_CudaGpu" -class "ConvNet.Gpu.Tests.Cuda.Device.DriverDeviceTests" \
    -class "ConvNet.Gpu.Tests.Cuda.Device.EmbeddedPtxTests")
  "$app/ConvNet.Gpu.Tests" "${filters[@]}" -noColor -xml "$OUT/tests.xml" || return 1
  ran_tests "$OUT/tests.xml"
}

# A filter that matches nothing (a renamed class) must not pass as a clean run.
ran_tests() {
  grep -qE '<assembly [^>]*total="[1-9]' "$1" || { echo "no tests ran (the test filters matched nothing)"; return 1; }
}

# compute-sanitizer over the GPU op suites with raw allocations (the pool off), so memcheck sees each buffer's bounds.
# racecheck only where kernels share memory (block reductions: batch norm, softmax and losses, reductions and the
# bias gradient); GEMM is cuBLAS's, whose kernels are not ours to check.
stage_sanitizer() {
  local tool="$1"
  require_cuda || return 3
  if ! command -v compute-sanitizer >/dev/null 2>&1; then echo "compute-sanitizer not found (PATH, /usr/local/cuda/bin)"; return 3; fi
  local filters=(-class "*Ops_CudaGpu")
  [ "$tool" = racecheck ] && filters=(-class "*NormOps_CudaGpu" -class "*SoftmaxLossOps_CudaGpu" -class "*ElementwiseOps_CudaGpu" \
    -class "*ConvOps_CudaGpu")
  CONVNET_CUDA_POOL=0 compute-sanitizer --tool "$tool" --error-exitcode=1 --launch-timeout 120 --print-limit 50 \
    "$app/ConvNet.Gpu.Tests" "${filters[@]}" -noColor -xml "$OUT/$tool.xml" || return 1
  ran_tests "$OUT/$tool.xml"
}

# benchmarks/compare.sh from the bundle: our peer mode and the PyTorch peer on the same shapes, then the table.
stage_compare() {
  local tf32="$1" images=60000 args=()
  require_cuda || return 3
  [ "$tf32" = on ] && images=20000   # a shorter epoch for the second pass: the per-image rate is what matters
  args=(--device cuda --tf32 "$tf32" --extended --repeats 10 --epoch-images "$images" --out-dir "$OUT/compare-tf32-$tf32")
  if [ "$mode" = rehearsal ]; then
    export CONVNET_SHAPES="$tools/conv-shapes-tiny.json" CONVNET_BENCH_MODELS=lenet5
    args=(--device cuda --tf32 "$tf32" --extended --repeats 1 --epoch-images 16 --batch 4 --sgemm 64 --no-peer
      --out-dir "$OUT/compare-tf32-$tf32")
  elif ! "$py" -c "import torch; assert torch.cuda.is_available(), 'torch.cuda.is_available() is False'" 2>"$OUT/logs/torch-check.txt"; then
    echo "PyTorch with CUDA unavailable from $py ($(tail -n1 "$OUT/logs/torch-check.txt")): our side only"
    note "PyTorch with CUDA unavailable from $py: our side only"
    args+=(--no-peer)
  fi
  CONVNET_PEER_PYTHON="$py" bash "$bench/compare.sh" "${args[@]}"
}

# The NCCL smoke test (tests/Distributed/NcclSmokeTests): a one-rank NCCL communicator all-reduces 1M floats of device
# memory twice. It skips when libnccl.so.2 cannot be loaded or CUDA is unusable: then the stage is "unavailable" with
# the test's reason. PyTorch's CUDA wheels carry NCCL (nvidia-nccl-cu*): that copy goes on the library path first.
stage_nccl() {
  require_cuda || return 3
  local wheel
  wheel="$("$py" -c "import os, nvidia.nccl as n; print(os.path.join(list(n.__path__)[0], 'lib'))" 2>/dev/null || true)"
  if [ -n "$wheel" ] && [ -d "$wheel" ]; then
    echo "NCCL from $py's nvidia-nccl wheel: $wheel"
    export LD_LIBRARY_PATH="$wheel${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
  fi
  "$app/ConvNet.Gpu.Tests" -class "ConvNet.Gpu.Tests.Distributed.NcclSmokeTests" -noColor -xml "$OUT/nccl.xml" || return 1
  ran_tests "$OUT/nccl.xml" || return 1
  if grep -q 'result="Skip"' "$OUT/nccl.xml"; then
    echo "skipped: $(grep -o '<reason><!\[CDATA\[[^]]*' "$OUT/nccl.xml" | head -n1 | sed 's/<reason><!\[CDATA\[//')"
    return 3
  fi
}

# Issue 13's algorithm table (bench/conv-algorithms.sh) in one TF32 mode: ours per algorithm forced and autotuned, then
# PyTorch's conv rows (cudnn.benchmark), and compare_algorithms.py's table in $OUT/conv-algorithms-tf32-<mode>/table.md.
stage_conv_algorithms() {
  local tf32="$1" args=()
  require_cuda || return 3
  args=(--device cuda --tf32 "$tf32" --repeats 10 --out-dir "$OUT/conv-algorithms-tf32-$tf32")
  if [ "$mode" = rehearsal ]; then
    # The stand-in's "peak" would be an 8192^3 SGEMM on the emulator: give it one instead of measuring.
    export CONVNET_GPU_PEAK_GFLOPS=1 CONVNET_GPU_TF32_PEAK_GFLOPS=1
    args=(--device cuda --tf32 "$tf32" --repeats 1 --batch 1 --shapes lenet-c3 --out-dir "$OUT/conv-algorithms-tf32-$tf32")
  fi
  CONVNET_PEER_PYTHON="$py" bash "$bench/conv-algorithms.sh" "${args[@]}"
}

stage_train() {
  require_cuda || return 3
  local args=(train --device cuda --model lenet5 --epochs 3 --batch-size 64 --seed 42 --data "$data" --out "$OUT/train")
  [ "$mode" = rehearsal ] && args=(train --device cuda --model lenet5 --epochs 1 --batch-size 32 --seed 42 --limit 256 \
    --allow-chance-accuracy --data "$data" --out "$OUT/train")
  "$app/convnet" "${args[@]}"
}

# ------------------------------------------------------------------------------------------------------------ runner
failed=0 incomplete=0
for line in "${STAGES[@]}"; do
  read -r stage_name stage_budget stage_modes stage_command <<< "$line"
  stage_budget=$(( stage_budget * scale ))
  [ -n "$only" ] && [[ ",$only," != *",$stage_name,"* ]] && continue
  log="$OUT/logs/$stage_name.log"
  if [[ ",$stage_modes," != *",$mode,"* ]]; then
    printf '%s\tskipped\t0\t%s\t%s\n' "$stage_name" "$stage_budget" "not run in $mode mode" >> "$OUT/stages.tsv"
    echo "== $stage_name: skipped (not run in $mode mode)"
    continue
  fi
  elapsed=$(( $(date +%s) - start ))
  left=$(( budget - elapsed - reserve ))
  need=$(( stage_budget / 3 > 10 ? stage_budget / 3 : 10 ))
  if [ "$left" -lt "$need" ]; then
    msg="skipped: ${left}s left of the ${budget}s budget after ${elapsed}s; it needs about ${need}s of its ${stage_budget}s"
    printf '%s\tskipped\t0\t%s\t%s\n' "$stage_name" "$stage_budget" "$msg" >> "$OUT/stages.tsv"
    echo "== $stage_name: $msg"
    continue
  fi
  limit=$(( stage_budget < left ? stage_budget : left ))
  echo "== $stage_name: running (limit ${limit}s; ${elapsed}s used of ${budget}s) -> $log"
  t0=$(date +%s)
  # A stage is a shell function or a command line; run it in a subshell under its own time limit.
  timeout -k 10 "$limit" bash -c "$(declare -f stage_env stage_tests stage_nccl stage_sanitizer stage_compare stage_conv_algorithms stage_train note require_cuda ran_tests)
    set -o pipefail; mode='$mode'; app='$app'; bench='$bench'; data='$data'; tools='$tools'; here='$here'; py='$py'
    stage_name='$stage_name'; cd '$here'; $stage_command" > "$log" 2>&1
  rc=$?
  secs=$(( $(date +%s) - t0 ))
  notes="$(cat "$OUT/logs/$stage_name.notes" 2>/dev/null | tr '\n' ' ')"
  case "$rc" in
    0) status=passed ;;
    124|137) status=timeout; notes="stopped after its ${limit}s limit. $notes" ;;
    3) status=unavailable; notes="$(tail -n1 "$log") $notes" ;;
    *) status=failed; notes="exit $rc. $notes" ;;
  esac
  printf '%s\t%s\t%s\t%s\t%s\n' "$stage_name" "$status" "$secs" "$stage_budget" "$notes" >> "$OUT/stages.tsv"
  echo "== $stage_name: $status in ${secs}s${notes:+ ($notes)}"
  case "$status:$stage_name:$mode" in
    failed:*) failed=1 ;;
    timeout:tests:*|timeout:memcheck:*|timeout:racecheck:*|timeout:*:rehearsal) incomplete=1 ;;
    unavailable:*:rehearsal) [[ "$REHEARSAL_MAY_BE_UNAVAILABLE" == *",$stage_name,"* ]] || failed=1 ;;
  esac
done
echo "load_end=$(cut -d' ' -f1-3 /proc/loadavg 2>/dev/null)" >> "$OUT/run.env"
echo "seconds=$(( $(date +%s) - start ))" >> "$OUT/run.env"

# ------------------------------------------------------------------------------------------------------------ results
results_ok=0
if command -v python3 >/dev/null 2>&1 && python3 "$tools/gpu-results.py" "$OUT" > "$OUT/logs/results.log" 2>&1; then
  results_ok=1
  cat "$OUT/logs/results.log"
else
  # No Python, or the writer failed: still leave a results file with the stage table and the logs' last lines.
  {
    echo "# ConvNet.Gpu GPU run ($mode), $(date -u '+%Y-%m-%d')"
    echo
    echo "tools/gpu-results.py could not run ($(tail -n1 "$OUT/logs/results.log" 2>/dev/null || echo 'no python3')); raw stage table and log tails follow."
    echo
    echo '```'; cat "$OUT/stages.tsv"; cat "$OUT/run.env"; echo '```'
    for f in "$OUT"/logs/*.log; do echo; echo "## $(basename "$f")"; echo '```'; tail -n 30 "$f"; echo '```'; done
  } > "$OUT/results.md"
  echo "results: $OUT/results.md (minimal: the results writer failed)"
fi
column -t -s $'\t' "$OUT/stages.tsv" 2>/dev/null || cat "$OUT/stages.tsv"
if [ -n "$archive" ]; then
  tar -czf "$archive" -C "$(dirname "$OUT")" "$(basename "$OUT")" && echo "archive: $archive ($(du -k "$archive" | cut -f1) KB)" \
    || { echo "gpu-run.sh: could not write the archive $archive"; failed=1; }
fi
[ "$results_ok" = 1 ] || failed=1
if [ "$failed" = 1 ]; then echo "gpu-run.sh: FAILED (see the stage table and $OUT/results.md)"; exit 1; fi
if [ "$incomplete" = 1 ]; then echo "gpu-run.sh: INCOMPLETE: a check stage ran out of time (see $OUT/results.md)"; exit 1; fi
echo "gpu-run.sh: OK in $(( $(date +%s) - start ))s; commit the results file as benchmarks/results/ (see above)"
