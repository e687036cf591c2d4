#!/usr/bin/env bash
# Prints the path of an NVIDIA ptxas that assembles PTX ISA <= 7.8, with cuobjdump and nvdisasm beside it
# (`cuobjdump -sass` disassembles what ptxas wrote, through nvdisasm), fetching the three when they are not
# cached yet: Debian bookworm's non-free nvidia-cuda-toolkit 11.8, downloaded (never installed: the whole toolkit
# is 1.6 GB and its libcuda1 would change what `ilgpugan info` reports) and unpacked into a cache outside the
# clone. The three need only glibc (libc, libm, libpthread, libdl). A cache that lacks one of them is filled
# again. Exits 1 with one line naming the problem when it cannot.
set -euo pipefail
cache=${ILGPUGAN_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/ilgpugan}/ptxas-11.8
tools=(ptxas cuobjdump nvdisasm)
ptxas="$cache/usr/bin/ptxas"
runs() { local tool; for tool in "${tools[@]}"; do "$1/usr/bin/$tool" --version >/dev/null 2>&1 || return 1; done; }
if runs "$cache"; then echo "$ptxas"; exit 0; fi
source "$(dirname "$0")/private-apt.sh"
work=$(mktemp -d); trap 'rm -rf "$work"' EXIT
private_apt "$work/apt" deb bookworm main contrib non-free || { echo "ptxas: apt-get update failed" >&2; exit 1; }
(cd "$work" && apt-get download -qq -o APT::Sandbox::User=root nvidia-cuda-toolkit >/dev/null) ||
  { echo "ptxas: could not download nvidia-cuda-toolkit from bookworm non-free" >&2; exit 1; }
rm -rf "$cache.partial" && mkdir -p "$cache.partial"
dpkg-deb -x "$work"/nvidia-cuda-toolkit_*.deb "$cache.partial"
keep=(-not -path "$cache.partial/usr" -not -path "$cache.partial/usr/bin")
for tool in "${tools[@]}"; do
  [ -x "$cache.partial/usr/bin/$tool" ] || { echo "ptxas: nvidia-cuda-toolkit's package has no usr/bin/$tool" >&2; exit 1; }
  keep+=(-not -path "$cache.partial/usr/bin/$tool")
done
# Keep the three tools alone: the rest of the package (nvcc, nvlink, cicc, ...) these checks do not use.
find "$cache.partial" -mindepth 1 "${keep[@]}" -delete 2>/dev/null || true
runs "$cache.partial" || { echo "ptxas: the unpacked ${tools[*]} do not all run here" >&2; exit 1; }
rm -rf "$cache" && mv "$cache.partial" "$cache"
echo "$ptxas"
