#!/usr/bin/env bash
# Prints a folder for OCL_ICD_VENDORS that holds PoCL 6.0's ICD, building PoCL when it is not cached yet.
# PoCL 6.0's pthread CPU device is OpenCL 3.0 with the generic address space ILGPU's OpenCL backend needs
# (bookworm's own PoCL 3.1 is not). It is built from Debian trixie's pocl 6.0 source package (its orig tarball
# is the upstream v6.0 tag) against bookworm's LLVM 15: 5-9 minutes on 2 cores, a 10 MB install into a cache
# outside the clone, keyed by the CPU because the kernel library is built for the host's vector units.
# The machine's apt sources are left as they were. Exits 1 with one line naming the problem when it cannot.
set -euo pipefail
cpu_key=$( (grep -m1 '^model name' /proc/cpuinfo; grep -m1 '^flags' /proc/cpuinfo) | sha256sum | cut -c1-12)
cache=${ILGPUGAN_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/ilgpugan}/pocl-6.0-$cpu_key
vendors="$cache/etc/OpenCL/vendors"
if [ -f "$vendors/pocl.icd" ] && [ -f "$cache/.complete" ]; then echo "$vendors"; exit 0; fi

build_deps=(clang-15 llvm-15-dev libclang-15-dev libclang-cpp15-dev libclang-common-15-dev libhwloc-dev
  ocl-icd-opencl-dev ocl-icd-libopencl1 zlib1g-dev libzstd-dev cmake ninja-build pkg-config dpkg-dev)
missing=()
for p in "${build_deps[@]}"; do dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'ok installed' || missing+=("$p"); done
if [ ${#missing[@]} -gt 0 ]; then
  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}") \
    >/dev/null || { echo "pocl: could not install its build dependencies: ${missing[*]}" >&2; exit 1; }
fi

source "$(dirname "$0")/private-apt.sh"
work=$(mktemp -d); trap 'rm -rf "$work"' EXIT
private_apt "$work/apt" deb-src trixie main || { echo "pocl: apt-get update of trixie's sources failed" >&2; exit 1; }
(cd "$work" && apt-get source --download-only -qq -o APT::Sandbox::User=root pocl >/dev/null) ||
  { echo "pocl: could not download trixie's pocl source package" >&2; exit 1; }
orig=$(ls "$work"/pocl_6.0*.orig.tar.* 2>/dev/null | head -n 1)
[ -n "$orig" ] || { echo "pocl: trixie's source package is not PoCL 6.0 ($(ls "$work"/*.dsc))" >&2; exit 1; }
mkdir "$work/src" && tar -xf "$orig" -C "$work/src" --strip-components=1

# LLVM 15 names only the CPUs it knew of (to it a Zen 5 is "Host CPU: (unknown)"), and PoCL's configure stops there.
# Such a CPU gets the x86-64 level its flags reach, which LLVM 15 knows.
host_cpu=()
if /usr/bin/llc-15 --version | grep -q 'Host CPU: (unknown)'; then
  flags=" $(grep -m1 '^flags' /proc/cpuinfo | cut -d: -f2) "
  has() { for f in "$@"; do [[ $flags == *" $f "* ]] || return 1; done; }
  level=x86-64
  if has avx512f avx512bw avx512cd avx512dq avx512vl avx2 fma; then level=x86-64-v4
  elif has avx2 fma bmi2 movbe; then level=x86-64-v3
  elif has sse4_2 popcnt ssse3; then level=x86-64-v2
  fi
  host_cpu=(-DLLC_HOST_CPU="$level")
fi

rm -rf "$cache"
# PoCL's configure compiles probe files (compile_test_*.bc, .o) into the current folder: keep them out of the clone.
cd "$work"
cmake -S "$work/src" -B "$work/build" -G Ninja -DCMAKE_BUILD_TYPE=Release -DCMAKE_INSTALL_PREFIX="$cache" \
  -DWITH_LLVM_CONFIG=/usr/bin/llvm-config-15 -DENABLE_ICD=ON -DENABLE_TESTS=OFF -DENABLE_EXAMPLES=OFF \
  -DENABLE_POCLCC=OFF -DENABLE_SPIRV=OFF -DKERNELLIB_HOST_CPU_VARIANTS=native -DENABLE_HWLOC=ON "${host_cpu[@]}" \
  >"$work/configure.log" 2>&1 || { tail -n 20 "$work/configure.log" >&2; echo "pocl: cmake configure failed" >&2; exit 1; }
cmake --build "$work/build" >"$work/build.log" 2>&1 ||
  { tail -n 20 "$work/build.log" >&2; echo "pocl: build failed" >&2; exit 1; }
cmake --install "$work/build" >/dev/null
# The installed ICD names libpocl.so by file name only; point it at the cached library so no loader path is needed.
lib=$(find "$cache" -name 'libpocl.so.*' -type f | head -n 1)
mkdir -p "$vendors" && echo "$lib" > "$vendors/pocl.icd"
touch "$cache/.complete"
echo "$vendors"
