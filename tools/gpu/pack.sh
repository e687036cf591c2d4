#!/usr/bin/env bash
# Packs everything tools/gpu/device.sh needs into .device/ (git-ignored), to be carried with ONE device call:
#   tools/gpu/pack.sh                       # here, from any folder of the repository
#   run(command="bash .device/device.sh", carry=[".device"], timeout_s=600)   # there, from the repo root
# .device/ then holds the self-contained `ilgpugan` and `IlgpuGan.Tests` for linux-x64 (not trimmed: trimming
# breaks ILGPU's reflection), device.sh itself, the PyTorch anchors and their import, and MNIST gzipped. It must stay under
# the device call's 64 MiB carry limit; the script fails if it does not.
# Environment: ANCHORS (default /work/shared/anchors), MNIST (default data/mnist, else /work/main/data/mnist).
set -euo pipefail
repo=$(cd "$(dirname "$0")/../.." && pwd)
cd "$repo"
anchors=${ANCHORS:-/work/shared/anchors}
mnist=${MNIST:-$( [ -f data/mnist/train-images-idx3-ubyte ] || [ -f data/mnist/train-images-idx3-ubyte.gz ] && echo data/mnist || echo /work/main/data/mnist)}
out=.device
limit_bytes=$((64 * 1024 * 1024))

rm -rf "$out"
mkdir -p "$out/mnist" "$out/tools" "$out/tests/reference"
staging=$(mktemp -d)
trap 'rm -rf "$staging"' EXIT

# The trainer and the test executable (NUnit's Microsoft.Testing.Platform runner) share one folder, so the .NET
# runtime travels once.
for project in src/Trainer tests; do
    dotnet publish "$project" -c Release -r linux-x64 --self-contained -p:PublishTrimmed=false -o "$staging/ilgpugan" \
        >"$staging/publish.log" 2>&1 || { tail -20 "$staging/publish.log"; exit 1; }
done
tar -C "$staging" -cf - ilgpugan | xz -6 -T0 >"$out/ilgpugan-linux-x64.tar.xz"

cp tools/gpu/device.sh tools/perf_tables.py "$out/"
cp tools/torch_step_bench.py "$out/tools/"
cp tests/reference/make_golden.py "$out/tests/reference/"   # torch_step_bench.py imports the seed's networks from it
cp "$anchors/torch_baseline.py" "$out/"

# Our trainer reads the four IDX files raw or gzipped; torch_baseline.py wants train-images-idx3-ubyte.gz.
for name in train-images-idx3-ubyte train-labels-idx1-ubyte t10k-images-idx3-ubyte t10k-labels-idx1-ubyte; do
    if [ -f "$mnist/$name.gz" ]; then cp "$mnist/$name.gz" "$out/mnist/"
    else gzip -9 -c "$mnist/$name" >"$out/mnist/$name.gz"; fi
done

bytes=$(du -sb "$out" | cut -f1)
echo "packed $out: $((bytes / 1024 / 1024)) MiB of the 64 MiB a device call carries"
[ "$bytes" -lt "$limit_bytes" ] || { echo "$out is over the carry limit" >&2; exit 1; }
