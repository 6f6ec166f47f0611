#!/usr/bin/env bash
# NuGet consumer check (issue 8, samples from issue 16): pack ConvNet.Gpu into a temporary local feed, copy every
# samples/<Name>/ (a project <Name>.csproj that references the package) into a fresh folder, build them all against that
# package (no project reference, only the feed + the public registry), and run each with --quick (short settings for
# CI; each sample checks its own result, prints "<NAME> OK" and exits 0, else non-zero). Fails if a sample fails or if
# any kernels/*.cu has no PTX resource in the packaged assembly (checked by QuickStart).
#   bash build/test-package.sh                  # all samples
#   bash build/test-package.sh Autoencoder ...  # only these (QuickStart's PTX check runs only when it is named)
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
if [ $# -gt 0 ]; then samples=("$@"); else
  samples=(); for d in "$root"/samples/*/; do n="$(basename "$d")"; [ -f "$d/$n.csproj" ] && samples+=("$n"); done
fi
{ echo '<Solution>'; for n in "${samples[@]}"; do echo "  <Project Path=\"$n/$n.csproj\" />"; done; echo '</Solution>'; } > "$work/consumer/samples.slnx"
for n in "${samples[@]}"; do
  [ -f "$root/samples/$n/$n.csproj" ] || { echo "package: error: no sample samples/$n/$n.csproj" >&2; exit 2; }
  mkdir -p "$work/consumer/$n"
  cp "$root/samples/$n/"*.cs "$root/samples/$n/$n.csproj" "$work/consumer/$n/"
done
cat > "$work/consumer/nuget.config" <<CFG
<?xml version="1.0" encoding="utf-8"?>
<configuration>
  <packageSources>
    <add key="local-convnet" value="$work/feed" />
  </packageSources>
</configuration>
CFG
# Isolate from the repository's Directory.Build.props: the consumers are outside projects.
echo '<Project />' > "$work/consumer/Directory.Build.props"
echo '<Project />' > "$work/consumer/Directory.Build.targets"

kernels=$(cd "$root/kernels" && ls *.cu | sed 's/\.cu$//' | paste -sd, -)
export CONVNET_EXPECTED_KERNELS="$kernels"
echo "package: building ${samples[*]} against the package (QuickStart expects PTX for: $kernels)"
dotnet build "$work/consumer/samples.slnx" -c Release -p:ConvNetGpuVersion="$version" \
  -p:RestorePackagesPath="$work/packages" --nologo -v quiet -clp:ErrorsOnly
failed=()
for n in "${samples[@]}"; do
  echo "package: running samples/$n --quick"
  start=$SECONDS
  if (cd "$work/consumer/$n" && dotnet "bin/Release/net10.0/$n.dll" --quick); then
    echo "package: samples/$n passed in $((SECONDS - start)) s"
  else
    echo "package: error: samples/$n failed (exit code $?) after $((SECONDS - start)) s" >&2; failed+=("$n")
  fi
done
[ ${#failed[@]} -eq 0 ] || { echo "package: failed samples: ${failed[*]}" >&2; exit 1; }
