#!/usr/bin/env bash
# Prints the path of an NVIDIA ptxas that assembles PTX ISA <= 7.8, fetching it when it is not cached yet:
# Debian bookworm's non-free nvidia-cuda-toolkit 11.8, downloaded (never installed: the whole toolkit is
# 1.6 GB and its libcuda1 would change what `ilgpugan info` reports) and unpacked into a cache outside the
# clone. ptxas needs only libc. Exits 1 with one line naming the problem when it cannot.
set -euo pipefail
cache=${ILGPUGAN_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/ilgpugan}/ptxas-11.8
ptxas="$cache/usr/bin/ptxas"
if [ -x "$ptxas" ] && "$ptxas" --version >/dev/null 2>&1; then echo "$ptxas"; exit 0; fi
source "$(dirname "$0")/private-apt.sh"
work=$(mktemp -d); trap 'rm -rf "$work"' EXIT
private_apt "$work/apt" deb bookworm main contrib non-free || { echo "ptxas: apt-get update failed" >&2; exit 1; }
(cd "$work" && apt-get download -qq -o APT::Sandbox::User=root nvidia-cuda-toolkit >/dev/null) ||
  { echo "ptxas: could not download nvidia-cuda-toolkit from bookworm non-free" >&2; exit 1; }
rm -rf "$cache.partial" && mkdir -p "$cache.partial"
dpkg-deb -x "$work"/nvidia-cuda-toolkit_*.deb "$cache.partial"
[ -x "$cache.partial/usr/bin/ptxas" ] || { echo "ptxas: nvidia-cuda-toolkit's package has no usr/bin/ptxas" >&2; exit 1; }
# Keep ptxas alone: the rest of the package is wrappers this check does not use.
find "$cache.partial" -mindepth 1 -not -path "$cache.partial/usr" -not -path "$cache.partial/usr/bin" \
  -not -path "$cache.partial/usr/bin/ptxas" -delete 2>/dev/null || true
rm -rf "$cache" && mv "$cache.partial" "$cache"
"$ptxas" --version >/dev/null
echo "$ptxas"
