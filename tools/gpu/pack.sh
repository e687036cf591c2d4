#!/usr/bin/env bash
# Packs everything tools/gpu/device.sh needs into .device/ (git-ignored), to be carried with ONE device call:
#   tools/gpu/pack.sh                       # here, from any folder of the repository
#   run(command="bash .device/tools/gpu/device.sh", carry=[".device"], timeout_s=600)   # there, from the repo root
# .device/ mirrors the repository's layout for what device.sh uses: the self-contained `ilgpugan` and
# `IlgpuGan.Tests` for linux-x64 in one tar.xz (not trimmed: trimming breaks ILGPU's reflection), device.sh, the
# PyTorch anchors and the seed's networks they import, and MNIST gzipped (fetched into data/mnist first when it
# is missing, by the published trainer itself, as `train` fetches).
# A device call carries .device/ plus the working tree's tracked files and its untracked files that git does not
# ignore, at most 64 MiB: the script adds those up and fails above 60 MiB, so the call is never refused.
# Environment: MNIST (default data/mnist).
set -euo pipefail
repo=$(cd "$(dirname "$0")/../.." && pwd)
cd "$repo"
mnist=${MNIST:-data/mnist}
out=.device
limit_mib=60

rm -rf "$out"
mkdir -p "$out/mnist" "$out/tools/gpu" "$out/tests/reference"
staging=$(mktemp -d)
trap 'rm -rf "$staging"' EXIT

# The test project's publish carries the trainer too (one .NET runtime for both). GpuBundle=true leaves out what the
# GPU run never uses (IlgpuGan.Tests.csproj says what); its own artifacts path keeps the working tree's bin/ and obj/
# as they were.
dotnet publish tests -c Release -r linux-x64 --self-contained -p:PublishTrimmed=false -p:GpuBundle=true \
    --artifacts-path "$staging/artifacts" -o "$staging/ilgpugan" >"$staging/publish.log" 2>&1 ||
    { tail -20 "$staging/publish.log"; echo "pack.sh: dotnet publish failed (above)" >&2; exit 1; }

# One step of the published trainer on the CPU accelerator: it starts without the SDK, and, as any `train`, it
# fetches MNIST into an empty or missing data folder.
"$staging/ilgpugan/ilgpugan" train --accelerator cpu --data "$mnist" --out "$staging/first-step" --max-steps 1 \
    >"$staging/first-step.log" 2>&1 ||
    { tail -20 "$staging/first-step.log"; echo "pack.sh: the published trainer failed its first step (above)" >&2; exit 1; }

tar -C "$staging" -cf - ilgpugan | xz -6 -T0 >"$out/ilgpugan-linux-x64.tar.xz"

cp tools/gpu/device.sh "$out/tools/gpu/"
cp tools/torch_step_bench.py tools/torch_baseline.py tools/perf_tables.py "$out/tools/"
cp tests/reference/make_golden.py "$out/tests/reference/"   # torch_step_bench.py imports the seed's networks from it

# Our trainer reads the four IDX files raw or gzipped; torch_baseline.py wants train-images-idx3-ubyte.gz.
for name in train-images-idx3-ubyte train-labels-idx1-ubyte t10k-images-idx3-ubyte t10k-labels-idx1-ubyte; do
    if [ -f "$mnist/$name.gz" ]; then cp "$mnist/$name.gz" "$out/mnist/"
    else gzip -9 -c "$mnist/$name" >"$out/mnist/$name.gz"; fi
done

# What the call carries: .device/ (ignored, named in carry) and every file git does not ignore.
bundle_bytes=$(du -sb "$out" | cut -f1)
tree_bytes=$({ git ls-files -z --cached --others --exclude-standard | xargs -0 -r stat -c %s 2>/dev/null || true; } |
    awk '{ s += $1 } END { print s + 0 }')
total_bytes=$((bundle_bytes + tree_bytes))
mib() { awk -v b="$1" 'BEGIN { printf "%.1f", b / 1048576 }'; }
echo "a device call carrying $out carries $(mib "$total_bytes") MiB ($out $(mib "$bundle_bytes") MiB, the working tree's files $(mib "$tree_bytes") MiB); at most $limit_mib MiB allowed, 64 MiB the limit"
if [ "$total_bytes" -gt $((limit_mib * 1024 * 1024)) ]; then
    echo "pack.sh: $(mib "$total_bytes") MiB is over $limit_mib MiB: the device call would be refused or have no margin" >&2
    exit 1
fi
