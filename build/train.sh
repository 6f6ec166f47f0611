#!/usr/bin/env bash
# The README's main-job command: set up a fresh machine, then train LeNet-5 on Fashion-MNIST with the convnet CLI.
# Extra arguments go to `convnet train` (e.g. --epochs 3 --device cpu).
set -euo pipefail
cd "$(dirname "$0")/.."
source build/prereqs.sh
if [ -d src/ConvNet.Gpu.Cli ]; then
  exec dotnet run --project src/ConvNet.Gpu.Cli -c Release -- train "$@"
else
  echo "The convnet CLI is not built yet (issue 6); running the test suite's training check instead." >&2
  exec dotnet test ConvNet.Gpu.sln -c Release
fi
