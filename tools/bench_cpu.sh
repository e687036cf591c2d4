#!/usr/bin/env bash
# The CPU figures of docs/cpu-speed.md in one run: our `bench` and `profile` on the CPU accelerator and the seed's
# step in PyTorch CPU (Debian's python3-torch, one thread), measured together so that they share the machine's load.
#   tools/bench_cpu.sh            # from any folder of the repository; results in OUT (default runs/bench-cpu)
# then paste OUT/figures.md (tools/perf_tables.py over the JSON) into docs/cpu-speed.md and copy the JSON to docs/perf/.
# Environment: OUT, PYTHON (/usr/bin/python3: the one with PyTorch), NICE (10: the machine is shared),
# BENCH_ARGS / PROFILE_ARGS (extra options, e.g. BENCH_ARGS="--batch-sizes 4 --widths 1" for a quick check).
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
cd "$repo"
out=${OUT:-runs/bench-cpu}
python=${PYTHON:-/usr/bin/python3}
niceness=${NICE:-10}
mkdir -p "$out"

dotnet build src/Trainer -c Release 2>&1 | tail -1
ilgpugan=(nice -n "$niceness" dotnet src/Trainer/bin/Release/net10.0/ilgpugan.dll)
{
    echo "== $(date -u '+%Y-%m-%d %H:%M UTC') on $(hostname), $(nproc) CPUs; load: $(cut -d' ' -f1-3 /proc/loadavg)"
    "${ilgpugan[@]}" bench --accelerator cpu ${BENCH_ARGS:-} --json "$out/bench.json"
    "${ilgpugan[@]}" profile --accelerator cpu ${PROFILE_ARGS:-} --json "$out/profile.json"
    OMP_NUM_THREADS=1 nice -n "$niceness" "$python" tools/torch_step_bench.py cpu ${TORCH_ITERATIONS:-20} | tee "$out/torch_step.json"
    echo "== done $(date -u '+%H:%M UTC'); load: $(cut -d' ' -f1-3 /proc/loadavg)"
} 2>&1 | tee "$out/log.txt"
python3 tools/perf_tables.py "$out" >"$out/figures.md"
echo "tables for docs/cpu-speed.md: $out/figures.md"
