"""Why the golden test's tolerances after five steps are looser than after one: PyTorch against itself.

Runs make_golden.py's five steps at batch 128 three ways: as the seed does, with D on the real and fake
batches concatenated (the same mathematics, another float32 summation order: what IlgpuGan does), and in
float64. Prints, per kind of tensor, the worst error of the last two against the first, as the golden test
measures it (relative to max(|reference|, the tensor's RMS)).

    OMP_NUM_THREADS=1 python3 tests/reference/reorder_sensitivity.py
"""
import os
import sys

import numpy as np
import torch
import torch.nn as nn

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import make_golden as mg  # noqa: E402

BATCH = 128


def run(concatenate, dtype):
    G, D = mg.Generator(), mg.Discriminator()
    mg.init_linears(D, mg.init_linears(G, mg.PARAM_STREAM))
    G, D = G.to(dtype), D.to(dtype)
    og = torch.optim.Adam(G.parameters(), lr=2e-4, betas=(0.9, 0.999), eps=1e-8, weight_decay=8e-9)
    od = torch.optim.Adam(D.parameters(), lr=2e-4, betas=(0.9, 0.999), eps=1e-8, weight_decay=8e-9)
    crit = nn.BCELoss()
    ones, zeros = torch.ones(BATCH, 1, dtype=dtype), torch.zeros(BATCH, 1, dtype=dtype)
    for step in range(mg.STEPS):
        real = mg.real_batch(step, BATCH).to(dtype)
        fake = G(mg.noise(step, 0, BATCH).to(dtype)).detach()
        if concatenate:
            scores = D(torch.cat([real, fake]))
            d_loss = crit(scores[:BATCH], ones) + crit(scores[BATCH:], zeros)
        else:
            d_loss = crit(D(real), ones) + crit(D(fake), zeros)
        D.zero_grad()
        d_loss.backward()
        od.step()
        g_loss = crit(D(G(mg.noise(step, 1, BATCH).to(dtype))), ones)
        D.zero_grad()
        G.zero_grad()
        g_loss.backward()
        og.step()
    state = {}
    for prefix, net, opt in [("G", G, og), ("D", D, od)]:
        for name, p in net.named_parameters():
            state[("parameter", f"{prefix}.{name}")] = p.detach()
            state[("adam_m", f"{prefix}.{name}")] = opt.state[p]["exp_avg"]
            state[("adam_v", f"{prefix}.{name}")] = opt.state[p]["exp_avg_sq"]
        for name, b in net.named_buffers():
            if "running" in name:
                state[("running", f"{prefix}.{name}")] = b
    return {k: v.double().numpy().ravel() for k, v in state.items()}


if __name__ == "__main__":
    torch.set_num_threads(1)
    reference = run(False, torch.float32)
    for label, other in [("concatenated D batch", run(True, torch.float32)), ("float64", run(False, torch.float64))]:
        worst = {}
        for (kind, name), ref in reference.items():
            got = other[(kind, name)]
            rms = np.sqrt(np.mean(got * got))
            worst[kind] = max(worst.get(kind, 0.0), float(np.max(np.abs(got - ref) / np.maximum(np.abs(ref), rms))))
        print(label, {k: f"{v:.2g}" for k, v in worst.items()})
