#!/usr/bin/env bash
# NuGet consumer check (issue 8): pack ConvNet.Gpu into a temporary local feed, build samples/QuickStart against
# that package in a fresh folder (no project reference, only the feed + the public registry), run it, and fail if the
# sample fails or if any kernels/*.cu has no PTX resource in the packaged assembly.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
version="0.1.0-consumer.$(date +%s)"

echo "package: packing ConvNet.Gpu $version into $work/feed"
dotnet pack "$root/src/ConvNet.Gpu" -c Release -o "$work/feed" -p:Version="$version" --nologo -v quiet
ls "$work/feed"/ConvNet.Gpu."$version".nupkg "$work/feed"/ConvNet.Gpu."$version".snupkg >/dev/null

# The package must not redistribute CUDA libraries, and must carry the PTX inside the assembly.
if unzip -l "$work/feed/ConvNet.Gpu.$version.nupkg" | grep -Eiq 'libcu(da|blas)'; then
  echo "package: error: CUDA libraries found inside the package" >&2; exit 1
fi

mkdir -p "$work/consumer"
cp "$root/samples/QuickStart/Program.cs" "$root/samples/QuickStart/QuickStart.csproj" "$work/consumer/"
cat > "$work/consumer/nuget.config" <<CFG
<?xml version="1.0" encoding="utf-8"?>
<configuration>
  <packageSources>
    <add key="local-convnet" value="$work/feed" />
  </packageSources>
</configuration>
CFG
# Isolate from the repository's Directory.Build.props: the consumer is an outside project.
echo '<Project />' > "$work/consumer/Directory.Build.props"
echo '<Project />' > "$work/consumer/Directory.Build.targets"

kernels=$(cd "$root/kernels" && ls *.cu | sed 's/\.cu$//' | paste -sd, -)
export CONVNET_EXPECTED_KERNELS="$kernels"
echo "package: building the consumer against the package (expecting PTX for: $kernels)"
dotnet run --project "$work/consumer/QuickStart.csproj" -c Release -p:ConvNetGpuVersion="$version" \
  -p:RestorePackagesPath="$work/packages" --nologo
