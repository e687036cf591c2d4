#!/usr/bin/env bash
# Everything we check and measure on a GPU, in ONE device call of at most 8 minutes (packed by tools/gpu/pack.sh):
#   run(command="bash .device/tools/gpu/device.sh", carry=[".device"], timeout_s=600)
# Stages in order of value, each with its own time limit (and none past DEADLINE_S from the start), each writing
# its own file under $OUT as soon as it ends, so that a failure or a cut-off costs only that stage:
#   1 first_steps.json  `info`, then `train --max-steps 50` on real MNIST on the accelerator and on the CPU
#                       accelerator, same seed: both losses and D's scores compared within LOSS_RTOL. When no CUDA
#                       context can be created, one line names the failing call and the driver, and the script stops.
#   2 tests.txt         the test suite's fixtures of the accelerator (the golden PyTorch steps among them) and the
#                       backend tests; no PTX, interop or command-line tests (CI runs those)
#   3 profile_seed.json, profile.json   `profile` of the seed and of the stable recipe
#   4 bench.json        `bench`, with the GEMM sweep beside cuBLAS on CUDA
#   5 torch.json        the PyTorch anchors on the same device: tools/torch_step_bench.py, and tools/torch_baseline.py
#                       with a capped full run (CUDA only)
#   6 train.json        `train` on real MNIST for the time left, stopped by SIGTERM; 300 epochs projected from its epochs
# and log.txt, every stage's output as it goes: 8 files, the most a device call returns. Afterwards
# `python3 tools/perf_tables.py OUTDIR` writes the tables for docs/gpu.md. Exit status 0 when every stage
# that ran passed.
# Environment: OUT (required), ACCELERATOR (cuda), PYTHON (python3: the one with PyTorch), DEADLINE_S (470),
# LOSS_RTOL (2e-3), TORCH_FULL_RUN_S (20), BIN (a folder holding `ilgpugan` and `IlgpuGan.Tests`; default: the
# bundle's tar.xz, unpacked), DATA (MNIST folder; default the bundle's mnist/), QUICK=1 (tiny sizes, for CI:
# ACCELERATOR=cpu QUICK=1 BIN=tests/bin/Release/net10.0 DATA=<tiny MNIST-format set> OUT=... bash tools/gpu/device.sh).
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)   # .device/ in the bundle, the repository in CI
: "${OUT:?set OUT to the folder for the results}"
accelerator=${ACCELERATOR:-cuda}
python=${PYTHON:-python3}
quick=${QUICK:-0}
data=${DATA:-$root/mnist}
deadline_s=${DEADLINE_S:-470}
# PoCL's OpenCL against the CPU accelerator after these 50 steps on real MNIST: 2.0e-4 at most (g_loss; 2026-12-05).
# CUDA's exp, log, sin and cos are approximations of about the same size as rounding, so ten times that.
loss_rtol=${LOSS_RTOL:-2e-3}
case "$accelerator" in
    cuda) kind=Cuda ;; opencl) kind=OpenCL ;; cpu) kind=Cpu ;;
    *) echo "device.sh: ACCELERATOR must be cuda, opencl or cpu, not '$accelerator'" >&2; exit 2 ;;
esac
mkdir -p "$OUT"
export PYTHONDONTWRITEBYTECODE=1   # nothing written into the checkout or the bundle
log="$OUT/log.txt"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
failed=()

say() { echo "== $*" | tee -a "$log" >&2; }
left() { echo $((deadline_s - SECONDS)); }
# Runs a command under min(its limit, the time left), its output into the log and onto standard error; with
# `capture FILE` first its standard output goes into FILE (then the log), with `capture-all FILE` both outputs do.
# Returns the command's exit status (124: cut off).
step() {
    local into=/dev/null errors=log
    case "$1" in capture) into=$2; shift 2 ;; capture-all) into=$2; errors=file; shift 2 ;; esac
    local limit=$1; shift
    local allowed; allowed=$(left)
    [ "$allowed" -lt "$limit" ] && limit=$allowed
    if [ "$limit" -lt 5 ]; then say "skipped for time: $*"; return 124; fi
    say "$* (limit ${limit} s)"
    local start=$SECONDS rc
    if [ "$into" = /dev/null ]; then
        timeout --kill-after=10 "$limit" "$@" 2>&1 | tee -a "$log" >&2
        rc=${PIPESTATUS[0]}
    else
        if [ "$errors" = file ]; then timeout --kill-after=10 "$limit" "$@" >"$into" 2>&1
        else timeout --kill-after=10 "$limit" "$@" >"$into" 2> >(tee -a "$log" >&2); fi
        rc=$?
        tee -a "$log" <"$into" >&2
    fi
    say "exit $rc after $((SECONDS - start)) s"
    return "$rc"
}
stage_failed() { failed+=("$1"); say "stage $1 failed: $2"; }

say "$(date -u '+%Y-%m-%d %H:%M UTC') on $(hostname): accelerator $accelerator, quick $quick, deadline ${deadline_s} s"
driver=unknown
if command -v nvidia-smi >/dev/null; then
    nvidia-smi --query-gpu=name,driver_version,memory.total,clocks.max.sm --format=csv 2>&1 | tee -a "$log"
    driver=$(nvidia-smi --query-gpu=driver_version --format=csv,noheader 2>/dev/null | head -1)
fi
if [ -n "${BIN:-}" ]; then
    bin=$(cd "$BIN" && pwd)
else
    tar -C "$work" -xJf "$root/ilgpugan-linux-x64.tar.xz" || { say "cannot unpack $root/ilgpugan-linux-x64.tar.xz"; exit 1; }
    bin=$work/ilgpugan
fi
say "unpacked after $SECONDS s"

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
ilgpugan=("${run_env[@]}" "$bin/ilgpugan")
say "cuBLAS looked up in: ${cublas_dirs[*]:-the default path only}"

if [ "$quick" = 1 ]; then
    first_args=(--batch-size 8 --max-steps 3)
    test_fixtures="ActivationsTests($kind)"
    profile_args=(--batch-size 8 --steps 2 --warmup 1 --images 64)
    bench_args=(--batch-sizes 4,8 --widths 1 --steps 1 --warmup 0 --repeats 1 --gemm-sizes 32 --gemm-batch 4 --images 64)
    torch_iterations=2
    train_args=(--batch-size 8)
    train_budget_s=20
else
    first_args=(--max-steps 50)
    test_fixtures="($kind)"
    profile_args=()
    bench_args=()
    torch_iterations=50
    train_args=()
    train_budget_s=$deadline_s
fi

# Stage 1: does it run at all, and with the CPU accelerator's losses.
stage1() {
    step 30 "${ilgpugan[@]}" info || { stage_failed 1 "info"; return; }
    local run name
    for run in first reference; do
        name=$([ "$run" = first ] && echo "$accelerator" || echo cpu)
        step capture-all "$work/$run.log" 45 "${ilgpugan[@]}" train --accelerator "$name" --data "$data" --out "$work/$run" \
            --seed 0 "${first_args[@]}"
        local rc=$?
        if [ "$rc" -ne 0 ]; then
            local error
            error=$(grep -m1 -E '^ilgpugan: |Exception' "$work/$run.log" || echo "exit $rc")
            "$python" -c 'import json,sys; print(json.dumps({"ok": False, "accelerator": sys.argv[1], "error": sys.argv[2], "driver": sys.argv[3]}))' \
                "$name" "$error" "$driver" >"$OUT/first_steps.json"
            if grep -q -E 'cannot create a CUDA context|no usable Cuda accelerator' <<<"$error"; then
                echo "device.sh: stage 1 stopped the run: $error (NVIDIA driver $driver)" | tee -a "$log" >&2
                exit 1
            fi
            stage_failed 1 "train on $name: $error"
            return
        fi
    done
    "$python" - "$work/first/metrics.csv" "$work/reference/metrics.csv" "$loss_rtol" "$accelerator" "$driver" \
        >"$OUT/first_steps.json" 2>>"$log" <<'PY'
import csv, json, sys
ours, cpu = ({k: v for k, v in list(csv.DictReader(open(path)))[-1].items() if v != ""} for path in sys.argv[1:3])
rtol = float(sys.argv[3])
columns = ["d_loss", "g_loss", "d_x", "d_g_z"]
differences = {c: abs(float(ours[c]) - float(cpu[c])) / max(abs(float(cpu[c])), 1e-12) for c in columns}
result = {"ok": max(differences.values()) <= rtol, "accelerator": sys.argv[4], "driver": sys.argv[5], "steps": int(ours["step"]),
          "rtol": rtol, "relative_differences": differences, "accelerator_row": ours, "cpu_row": cpu}
print(json.dumps(result, indent=1))
sys.exit(0 if result["ok"] else 1)
PY
    local rc=$?
    tee -a "$log" <"$OUT/first_steps.json" >&2
    [ "$rc" -eq 0 ] || stage_failed 1 "the losses differ from the CPU accelerator's by more than $loss_rtol (first_steps.json)"
}

# Stage 2: the suite's fixtures of this accelerator and the backend tests. ILGPUGAN_REQUIRED_CHECKS=cuda fails the
# run when CUDA is not usable, rather than letting every CUDA fixture silently not run; a filter that selects no
# test fails too (the runner's exit code 8).
stage2() {
    local fixtures=${test_fixtures//(/\\(}
    fixtures=${fixtures//)/\\)}
    local suite=("${run_env[@]}")
    [ "$accelerator" = cuda ] && suite+=(ILGPUGAN_REQUIRED_CHECKS=cuda)
    step capture-all "$OUT/tests.txt" 150 "${suite[@]}" "$bin/IlgpuGan.Tests" \
        --filter "FullyQualifiedName~$fixtures.|FullyQualifiedName~.BackendTests." --results-directory "$work/test-results"
    local rc=$?
    [ "$rc" -eq 0 ] || stage_failed 2 "the test suite exited $rc (tests.txt)"
}

stage3() {
    step 45 "${ilgpugan[@]}" profile --accelerator "$accelerator" --recipe seed "${profile_args[@]}" --json "$OUT/profile_seed.json" ||
        stage_failed 3 "profile --recipe seed"
    step 45 "${ilgpugan[@]}" profile --accelerator "$accelerator" --recipe stable "${profile_args[@]}" --json "$OUT/profile.json" ||
        stage_failed 3 "profile --recipe stable"
}

stage4() {
    step 100 "${ilgpugan[@]}" bench --accelerator "$accelerator" "${bench_args[@]}" --json "$OUT/bench.json" || stage_failed 4 "bench"
}

# Stage 5: PyTorch's step (eager, and as one CUDA graph on CUDA), and the shared anchor's three forms and capped full run.
stage5() {
    local torch_device; torch_device=$([ "$accelerator" = cuda ] && echo cuda || echo cpu)
    step capture "$work/torch_step.json" 60 env OMP_NUM_THREADS="${OMP_NUM_THREADS:-1}" "$python" \
        "$root/tools/torch_step_bench.py" "$torch_device" "$torch_iterations" || stage_failed 5 "torch_step_bench.py"
    if [ "$accelerator" = cuda ]; then
        mkdir -p "$work/torch_run"
        step 60 env FULL_RUN_BUDGET_S="${TORCH_FULL_RUN_S:-20}" "$python" "$root/tools/torch_baseline.py" "$data" "$work/torch_run" 300 ||
            stage_failed 5 "torch_baseline.py"
        cp "$work/torch_run/torch_baseline.json" "$work/" 2>/dev/null
    else
        # It needs CUDA; here only that it is there and parses.
        step 20 "$python" -c 'import ast, sys; ast.parse(open(sys.argv[1]).read())' "$root/tools/torch_baseline.py" ||
            stage_failed 5 "torch_baseline.py does not parse"
    fi
    "$python" - "$work" >"$OUT/torch.json" <<'PY'
import json, os, sys
def load(name):
    path = os.path.join(sys.argv[1], name)
    try:
        return json.load(open(path)) if os.path.getsize(path) > 0 else None
    except (OSError, ValueError):
        return None
print(json.dumps({"step": load("torch_step.json"), "baseline": load("torch_baseline.json")}, indent=1))
PY
}

# Stage 6: `train` as a user runs it, until the time left runs out (SIGTERM: it finishes the step, writes its
# checkpoint and the cut epoch's metrics row); 300 epochs projected from the median whole epoch.
stage6() {
    local allowed=$(($(left) - 15))
    [ "$allowed" -gt "$train_budget_s" ] && allowed=$train_budget_s
    if [ "$allowed" -lt 20 ]; then say "stage 6 skipped: $allowed s left"; return; fi
    say "train for ${allowed} s"
    local start=$SECONDS
    timeout --preserve-status -s TERM --kill-after=20 "$allowed" "${ilgpugan[@]}" train --accelerator "$accelerator" --data "$data" --out "$work/run" \
        --epochs 300 "${train_args[@]}" 2>&1 | tee -a "$log" >&2
    local rc=${PIPESTATUS[0]}
    say "exit $rc after $((SECONDS - start)) s"
    "$python" - "$work/run/metrics.csv" "$rc" "$((SECONDS - start))" >"$OUT/train.json" <<'PY'
import csv, json, statistics, sys
path, rc, wall = sys.argv[1], int(sys.argv[2]), float(sys.argv[3])
result = {"exit": rc, "stopped_for_time": rc == 143, "wall_seconds_with_startup": wall}
try:
    rows = list(csv.DictReader(open(path)))
except OSError:
    rows = []
if rows:
    # One row per epoch; only the last can be cut short, by the stop or by --max-steps.
    steps = [int(r["step"]) - previous for r, previous in zip(rows, [0] + [int(r["step"]) for r in rows])]
    per_epoch = max(steps)
    whole = [float(r["seconds"]) for r, n in zip(rows, steps) if n == per_epoch]
    if len(rows) == 1 and rc == 143:
        whole = []
    result.update(steps=int(rows[-1]["step"]), epochs_whole=len(whole), steps_per_epoch=per_epoch,
                      last_row={k: v for k, v in rows[-1].items() if v != ""})
    if whole:
        median = statistics.median(whole)
        result.update(epoch_seconds_median=median, projected_300_epochs_seconds=300 * median,
                      how="300 × the median of its whole epochs' seconds (steps, samples and report; no start-up)")
print(json.dumps(result, indent=1))
sys.exit(0 if rc in (0, 143) and rows else 1)
PY
    local parsed=$?
    tee -a "$log" <"$OUT/train.json" >&2
    [ "$parsed" -eq 0 ] || stage_failed 6 "train exited $rc (train.json)"
}

for stage in 1 2 3 4 5 6; do
    say "stage $stage at $SECONDS s"
    "stage$stage"
done
if [ ${#failed[@]} -gt 0 ]; then
    say "done in $SECONDS s; failed: ${failed[*]}"
    exit 1
fi
say "done in $SECONDS s; every stage passed"
