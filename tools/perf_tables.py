"""Markdown tables for docs/cpu-speed.md and docs/gpu.md from the JSON that `bench`, `profile` and the PyTorch
anchors wrote into one folder (tools/bench_cpu.sh and tools/gpu/device.sh call it), so that the docs' figures are
pasted from a run, never typed.

usage: python3 tools/perf_tables.py DIR     (reads DIR/bench.json, profile.json, profile_seed.json, torch.json
                                             or torch_step.json and torch_baseline.json, train.json where present)
"""
import json
import os
import sys

folder = sys.argv[1]


def load(name):
    path = os.path.join(folder, name)
    if not os.path.exists(path) or os.path.getsize(path) == 0:
        return None
    with open(path) as f:
        return json.load(f)


def table(header, rows):
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)


def num(value, decimals):
    return "-" if value is None else f"{value:,.{decimals}f}"


def measured_on(m):
    return (f"{m['Accelerator']} `{m['Device']}`, host {m['HostCpus']} × {m['HostCpu']} (load {m['HostLoad']} at the start), "
            f"{m['Os']}, {m['Utc']}")


bench, train = load("bench.json"), load("train.json")
profiles = [(name, load(name)) for name in ("profile_seed.json", "profile.json")]
torch = load("torch.json") or {}   # device.sh writes both anchors into one file: a device call returns 8 files at most
torch_step = torch.get("step") or load("torch_step.json")
baseline = torch.get("baseline") or load("torch_baseline.json")
out = []

if bench:
    out.append(f"### `bench`: {measured_on(bench['MeasuredOn'])}\n")
    out.append(f"Median of {bench['Repeats']} runs of {bench['Steps']} steps after {bench['Warmup']} warm-up steps; "
               "synthetic data on the device; epochs and 300 epochs projected from ms/iter (steps only, no start-up).\n")
    out.append(table(["batch", "width", "ms/iter (min–max)", "samples/s", "s/epoch", "300 epochs (s)"],
                     [[t["BatchSize"], f"×{t['Width']}",
                       f"{t['MsPerIteration']:.3f} ({t['MinMsPerIteration']:.3f}–{t['MaxMsPerIteration']:.3f})",
                       num(t["SamplesPerSecond"], 0), num(t["EpochSeconds"], 2), num(t["SeedRunSeconds"], 1)]
                      for t in bench["Training"]]))
    seed = next((t for t in bench["Training"] if t["BatchSize"] == 128 and t["Width"] == 1), None)
    if seed and torch_step:
        anchors = [("eager", torch_step.get("eager_ms_per_iter")), ("CUDA graph", torch_step.get("graph_ms_per_iter"))]
        ratios = "; ".join(f"PyTorch {name} {ms:.3f} ms, ours {ms / seed['MsPerIteration']:.2f}× its speed"
                           for name, ms in anchors if ms)
        out.append(f"\nBatch 128, width ×1: ours {seed['MsPerIteration']:.3f} ms per iteration; {ratios} "
                   f"(torch_step_bench.py, same call: {torch_step['device']}, torch {torch_step['torch']}, "
                   f"{torch_step['threads']} threads).")
    out.append(f"\nGEMM, GFLOP/s (every distinct multiply of a step at batch {bench['GemmBatch']}, then squares); "
               f"cuBLAS {bench['CuBlas']}\n")
    out.append(table(["gemm", "op", "m×n×k", "ours", "cuBLAS", "ours % of cuBLAS"],
                     [[g["Source"], g["Op"], f"{g['M']}×{g['N']}×{g['K']}", num(g["OursGflopPerSecond"], 1),
                       num(g["CuBlasGflopPerSecond"], 1), num(g["OursPercentOfCuBlas"], 1)] for g in bench["Gemm"]]))

for name, profile in profiles:
    if not profile:
        continue
    out.append(f"\n### `profile` ({name}): {measured_on(profile['MeasuredOn'])}\n")
    out.append(f"Batch {profile['BatchSize']}, width ×{profile['Width']}, {profile['Steps']} steps after "
               f"{profile['Warmup']} warm-up steps; every launch between ILGPU profiling markers.\n")
    rows = [[f"`{k['Kernel']}`", num(k["LaunchesPerStep"], 2), num(k["MicrosecondsPerStep"], 1),
             num(k["MeanMicroseconds"], 1), num(k["SharePercent"], 1), num(k["GflopPerSecond"], 2),
             num(k["GigabytesPerSecond"], 2)] for k in profile["Kernels"]]
    rows.append(["between kernels (host, launches, markers)", "", num(profile["GapMicroseconds"], 1), "",
                 num(profile["GapSharePercent"], 1), "", ""])
    rows.append(["**step**", num(profile["LaunchesPerStep"], 2), num(profile["StepMicroseconds"], 1), "", "100.0", "", ""])
    out.append(table(["kernel", "launches/step", "µs/step", "µs/launch", "share %", "GFLOP/s", "GB/s"], rows))


if torch_step:
    parts = [f"eager {torch_step['eager_ms_per_iter']:.3f} ms per iteration"]
    if "graph_ms_per_iter" in torch_step:
        parts.append(f"one CUDA graph {torch_step['graph_ms_per_iter']:.3f} ms")
    out.append(f"\n### PyTorch, `tools/torch_step_bench.py` ({torch_step['device']}, torch {torch_step['torch']}, "
               f"{torch_step['threads']} threads, batch {torch_step['batch']}): " + "; ".join(parts) + ".")

if baseline:
    keys = ["seed_dataloader_ms_per_iter", "eager_ms_per_iter", "graph_ms_per_iter", "full_run_form",
            "full_run_epochs", "full_run_s", "epoch_s_median"]
    out.append(f"\n### PyTorch, the shared `torch_baseline.py` ({baseline['device']}, torch {baseline['torch']})\n")
    out.append(table(["figure", "value"], [[k, baseline[k] if isinstance(baseline[k], str) else f"{baseline[k]:.4g}"]
                                           for k in keys if k in baseline]))

if train:
    out.append("\n### `train` on real MNIST, stopped when the call's time ran out\n")
    if "projected_300_epochs_seconds" in train:
        out.append(f"{train['steps']} steps, {train['epochs_whole']} whole epochs of {train['steps_per_epoch']} steps in "
                   f"{train['wall_seconds_with_startup']:.0f} s with start-up; median epoch {train['epoch_seconds_median']:.2f} s; "
                   f"300 epochs: **{train['projected_300_epochs_seconds']:.1f} s** ({train['how']}).")
    else:
        out.append(f"no whole epoch (exit {train['exit']}): see log.txt.")

print("\n".join(out))
