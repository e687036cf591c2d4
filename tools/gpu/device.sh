#!/usr/bin/env bash
# Everything we check and measure on a GPU, in ONE device call (packed by tools/gpu/pack.sh, run from the repo root):
#   run(command="bash .device/device.sh", carry=[".device"], timeout_s=600)
# It runs `ilgpugan info`, the test suite on the GPU, `bench` and `profile` (JSON into $OUT), the PyTorch anchors in the same call
# (tools/torch_step_bench.py cuda; the shared torch_baseline.py with a short full run), and a timed `train` of the
# seed's 300 epochs on real MNIST, capped by --max-steps when the bench predicts it would not finish within
# TRAIN_CAP_S (then the 300 epochs are extrapolated from the steps run, and train.json says so). The call takes
# about 8 minutes; each part has a time limit (together more than the 10 minutes a call may take, so the train step,
# last, is the one a slow machine loses). log.txt is written as it goes: a call
# cut off still says how far it got. Files back in $OUT (the device call returns 8 at most): log.txt, bench.json,
# profile.json, torch_step.json, torch_baseline.json, train.json, train_metrics.csv, and figures.md
# (tools/perf_tables.py over the JSON, to paste into docs/PERFORMANCE.md).
# Environment: OUT (required), ACCELERATOR (cuda), PYTHON (python3: the one with PyTorch), TRAIN_CAP_S (100),
# TORCH_FULL_RUN_S (20: torch_baseline.py's FULL_RUN_BUDGET_S), QUICK=1 (tiny sizes: a dry run of the script,
# e.g. ACCELERATOR=cpu QUICK=1 OUT=/tmp/x PYTHON=/usr/bin/python3 bash .device/device.sh on a machine without GPU).
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
: "${OUT:?set OUT to the folder for the results}"
accelerator=${ACCELERATOR:-cuda}
python=${PYTHON:-python3}
train_cap_s=${TRAIN_CAP_S:-100}
quick=${QUICK:-0}
mkdir -p "$OUT"
log="$OUT/log.txt"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

say() { echo "== $*" | tee -a "$log"; }
# Runs a command under a time limit, output into the log; a failure is logged and the script goes on.
step() {
    local limit=$1; shift
    say "$* (limit ${limit} s)"
    local start=$SECONDS
    timeout --kill-after=10 "$limit" "$@" 2>&1 | tee -a "$log"
    local rc=${PIPESTATUS[0]}
    say "exit $rc after $((SECONDS - start)) s"
    return "$rc"
}

say "$(date -u '+%Y-%m-%d %H:%M UTC') on $(hostname): accelerator $accelerator, quick $quick"
command -v nvidia-smi >/dev/null && nvidia-smi --query-gpu=name,driver_version,memory.total,clocks.max.sm --format=csv 2>&1 | tee -a "$log"
tar -C "$work" -xJf "$here/ilgpugan-linux-x64.tar.xz" || { say "cannot unpack the trainer"; exit 1; }

# ILGPU.Algorithms asks for libcublas.so.10-12; our NativeLibraryFallback tries .13 too, but CUDA 13 keeps it
# outside the loader's default path: in the toolkit's lib64 and in PyTorch's nvidia wheels (nvidia/cublas/lib, or
# nvidia/cu13/lib in the CUDA 13 layout), so look for the file itself.
nvidia_wheels=$("$python" -c 'import nvidia; print(list(nvidia.__path__)[0])' 2>/dev/null)
mapfile -t cublas_dirs < <(find -L ${nvidia_wheels:+"$nvidia_wheels"} /usr/local/cuda/lib64 /usr/local/cuda/targets/x86_64-linux/lib \
    -maxdepth 3 -name 'libcublas.so.*' -printf '%h\n' 2>/dev/null | sort -u)
run_env=(env)
if [ ${#cublas_dirs[@]} -gt 0 ]; then
    run_env+=("LD_LIBRARY_PATH=$(IFS=:; echo "${cublas_dirs[*]}")${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}")
fi
ilgpugan=("${run_env[@]}" "$work/ilgpugan/ilgpugan")
say "cuBLAS looked up in: ${cublas_dirs[*]:-the default path only}"

if [ "$quick" = 1 ]; then
    bench_args=(--batch-sizes 4,8 --widths 1 --steps 1 --warmup 0 --repeats 1 --gemm-sizes 32 --gemm-batch 4 --images 64)
    profile_args=(--batch-size 8 --steps 2 --warmup 1 --images 64)
    torch_iterations=2
else
    bench_args=()
    profile_args=()
    torch_iterations=50
fi

step 60 "${ilgpugan[@]}" info

# The test suite on the GPU: every fixture but the CPU accelerator's (CI runs those), so the same assertions as on
# the CPU and on PoCL, the golden PyTorch test among them. ILGPUGAN_REQUIRED_CHECKS=cuda fails the run when CUDA
# is not usable, rather than letting every CUDA fixture silently not run. QUICK keeps to the backend checks.
suite=("${run_env[@]}")
[ "$accelerator" = cuda ] && suite+=(ILGPUGAN_REQUIRED_CHECKS=cuda)
suite+=("$work/ilgpugan/IlgpuGan.Tests" --filter)
if [ "$quick" = 1 ]; then suite+=("FullyQualifiedName~BackendTests"); else suite+=('FullyQualifiedName!~\(Cpu\)'); fi
step 200 "${suite[@]}" || say "the test suite failed: its failures are above"
step 180 "${ilgpugan[@]}" bench --accelerator "$accelerator" "${bench_args[@]}" --json "$OUT/bench.json"
step 45 "${ilgpugan[@]}" profile --accelerator "$accelerator" "${profile_args[@]}" --json "$OUT/profile.json"

torch_device=$([ "$accelerator" = cuda ] && echo cuda || echo cpu)
say "PyTorch anchor: torch_step_bench.py $torch_device $torch_iterations"
timeout 90 env OMP_NUM_THREADS=${OMP_NUM_THREADS:-1} "$python" "$here/tools/torch_step_bench.py" "$torch_device" "$torch_iterations" \
    >"$OUT/torch_step.json" 2>>"$log" || say "torch_step_bench.py failed (exit $?)"
cat "$OUT/torch_step.json" >>"$log"
if [ "$accelerator" = cuda ]; then
    say "PyTorch anchor: torch_baseline.py, full run capped at ${TORCH_FULL_RUN_S:-20} s"
    # It prints its timings, trains, and writes them all with the full run's to torch_baseline.json; its samples stay behind.
    mkdir -p "$work/torch_run"
    timeout 120 env FULL_RUN_BUDGET_S="${TORCH_FULL_RUN_S:-20}" "$python" "$here/torch_baseline.py" "$here/mnist" "$work/torch_run" 300 \
        >>"$log" 2>&1 || say "torch_baseline.py failed (exit $?)"
    cp "$work/torch_run/torch_baseline.json" "$OUT/" 2>/dev/null || say "torch_baseline.py wrote no torch_baseline.json"
else
    say "torch_baseline.py skipped: it needs CUDA"
fi

# 300 epochs of 468 steps. Run them all when the bench's ms per iteration says they fit in the cap.
seed_steps=$((300 * 468))
ms_per_iteration=$("$python" -c 'import json,sys; t=[r for r in json.load(open(sys.argv[1]))["Training"] if r["BatchSize"]==128 and r["Width"]==1]; print(t[0]["MsPerIteration"] if t else "")' "$OUT/bench.json" 2>/dev/null)
if [ "$quick" = 1 ]; then max_steps=3
elif [ -n "$ms_per_iteration" ]; then max_steps=$("$python" -c "print(min($seed_steps, int($train_cap_s * 0.8 * 1000 / $ms_per_iteration)))")
else max_steps=2000; fi
train_start=$SECONDS
step $((train_cap_s + 60)) "${ilgpugan[@]}" train --accelerator "$accelerator" --data "$here/mnist" --out "$work/run" \
    --epochs 300 --sample-every 100 --checkpoint-every 300 --max-steps "$max_steps"
train_wall=$((SECONDS - train_start))
"$python" - "$log" "$train_wall" "$seed_steps" "$max_steps" >"$OUT/train.json" <<'PY'
import json, re, sys
log, wall, seed_steps, asked = open(sys.argv[1]).read(), float(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
done = re.findall(r"^done: (\d+) steps in ([\d.]+) s", log, re.M)
result = {"steps_asked": asked, "seed_steps": seed_steps, "wall_seconds_with_startup": wall}
if done:
    steps, loop = int(done[-1][0]), float(done[-1][1])
    startup = wall - loop
    result.update(steps=steps, loop_seconds=loop, startup_seconds=startup, full_run=steps == seed_steps,
                  seed_run_seconds=wall if steps == seed_steps else startup + loop / steps * seed_steps,
                  how="measured" if steps == seed_steps else f"extrapolated from {steps} steps: start-up + loop/steps x {seed_steps}")
print(json.dumps(result, indent=1))
PY
cat "$OUT/train.json" | tee -a "$log"
cp "$work/run/metrics.csv" "$OUT/train_metrics.csv" 2>/dev/null

"$python" "$here/perf_tables.py" "$OUT" >"$OUT/figures.md" 2>>"$log" || say "perf_tables.py failed"
say "done in $SECONDS s"
