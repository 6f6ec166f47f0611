#!/usr/bin/env bash
# Sourced by build/test.sh and build/train.sh: makes a fresh Debian/Ubuntu machine ready.
#   - the .NET 10 SDK must already be on PATH (it is not in Debian's archive);
#   - clang-14 compiles kernels/*.cu to PTX (nvcc is used instead when present);
#   - g++ compiles the same kernels into the emulated CUDA device used by the tests;
#   - dataset-fashion-mnist provides the real data at /usr/share/datasets/fashion-mnist;
#   - openmpi-bin and libopenmpi-dev (Open MPI 4, libmpi.so.40 and mpirun) run the distributed tests and
#     `mpirun -np N convnet train --distributed`.
# Missing Debian packages are installed with apt-get when running as root; otherwise we say what to install.

if ! command -v dotnet >/dev/null 2>&1; then
  echo "error: the .NET 10 SDK (dotnet) is not on PATH; install it from https://dot.net and retry." >&2
  exit 1
fi

cn_missing=()
command -v clang-14 >/dev/null 2>&1 || command -v nvcc >/dev/null 2>&1 || cn_missing+=(clang-14)
command -v g++ >/dev/null 2>&1 || cn_missing+=(g++)
command -v python3 >/dev/null 2>&1 || cn_missing+=(python3)  # the GPU kit's data slice and results writer
command -v mpirun >/dev/null 2>&1 || cn_missing+=(openmpi-bin)
compgen -G '/usr/lib/*/libmpi.so.40' >/dev/null || cn_missing+=(libopenmpi-dev)
[ -d /usr/share/datasets/fashion-mnist ] || [ -n "${CONVNET_SKIP_DATASET:-}" ] || cn_missing+=(dataset-fashion-mnist)

if [ ${#cn_missing[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "prereqs: installing ${cn_missing[*]} with apt-get" >&2
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq >/dev/null && apt-get install -y -qq "${cn_missing[@]}" >/dev/null \
      || echo "prereqs: warning: apt-get could not install ${cn_missing[*]}; tests that need them will say so" >&2
  else
    echo "prereqs: warning: missing ${cn_missing[*]}; install them (apt-get install ${cn_missing[*]}) for the full suite" >&2
  fi
fi
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1
