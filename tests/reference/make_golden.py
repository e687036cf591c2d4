"""PyTorch reference values for the golden training-step test (tests/GoldenStepTests.cs), in the manner of
llm.c's test_gpt2: the seed's two networks (EmjayAhn/GAN-pytorch) trained for a few steps in PyTorch, with
every input drawn from a counter-based hash that the C# test reproduces bit for bit, so only outputs are
stored. Run with Debian's python3-torch 1.13 (CPU):

    OMP_NUM_THREADS=1 python3 tests/reference/make_golden.py

Besides the state after the last step it stores every parameter's gradient at step 0, before Adam first moves
anything. It writes golden_b16.bin, golden_b16_saturating.bin and golden_b128.bin beside itself, and
golden_b16_recipe.bin: the seed with the recipe knobs PyTorch can reproduce (RECIPE below: tanh output, BatchNorm
before LeakyReLU, Adam beta1 0.5, real target 0.9, and an average of G's parameters and running statistics,
whose entries are "G_average.<name>"); D's dropout masks come from our own generator, so it has none here. Format (little-endian):
b"IGGOLD1\\0", u32 batch, u32 steps, u32 saturating, u32 entry count, then per entry: u16 name length, name
(UTF-8), u32 full tensor length, u32 stored count, i32 indices[count], f32 values[count]. A tensor of at most
SAMPLE elements is stored whole; a larger one as SAMPLE elements at hashed indices plus an entry
"<name>:sumsq" holding the sum of squares of all its elements.
"""
import copy
import os
import struct
import sys

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

Z, STEPS, SAMPLE = 100, 5, 2048
M64 = np.uint64(0xFFFFFFFFFFFFFFFF)


def splitmix64(x):
    """splitmix64 finaliser of (x + golden gamma); numpy's uint64 arithmetic wraps like C#'s ulong."""
    with np.errstate(over="ignore"):
        z = x + np.uint64(0x9E3779B97F4A7C15)
        z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
        return z ^ (z >> np.uint64(31))


def uniform(stream, n):
    """n values in [0, 1): the top 24 bits of splitmix64(stream << 32 | i), exact in float32 and double."""
    i = np.arange(n, dtype=np.uint64)
    h = splitmix64((np.uint64(stream) << np.uint64(32)) | i)
    return (h >> np.uint64(40)).astype(np.float64) / float(1 << 24)


def gaussian(stream, n):
    """Box-Muller in double on uniform pairs (2i, 2i+1), rounded to float32."""
    u = uniform(stream, 2 * n)
    r = np.sqrt(-2.0 * np.log(1.0 - u[0::2]))
    return (r * np.cos(2.0 * np.pi * u[1::2])).astype(np.float32)


# The knobs of golden_b16_recipe.bin; tests/GoldenStepTests.cs sets the same. The average's decay is low so that
# five steps move it measurably.
SEED_KNOBS = dict(tanh=False, bn_before=False, beta1=0.9, real_target=1.0, average_decay=None)
RECIPE = dict(tanh=True, bn_before=True, beta1=0.5, real_target=0.9, average_decay=0.8)


class Generator(nn.Module):
    def __init__(self, tanh=False, bn_before=False):
        super().__init__()
        self.tanh, self.bn_before = tanh, bn_before
        dims = [Z, 128, 256, 512, 1024]
        for i, (a, b) in enumerate(zip(dims, dims[1:]), 1):
            setattr(self, f"fc{i}", nn.Linear(a, b))
            setattr(self, f"bn{i}", nn.BatchNorm1d(b, momentum=0.8))
        self.fc5 = nn.Linear(1024, 784)

    def forward(self, z):
        for i in range(1, 5):
            fc, bn = getattr(self, f"fc{i}"), getattr(self, f"bn{i}")
            z = F.leaky_relu(bn(fc(z)), 0.2) if self.bn_before else bn(F.leaky_relu(fc(z), 0.2))
        x = self.fc5(z)
        return torch.tanh(x) if self.tanh else x


class Discriminator(nn.Module):
    def __init__(self, widths=(256, 128)):
        super().__init__()
        self.fc1, self.fc2, self.fc3 = nn.Linear(784, widths[0]), nn.Linear(widths[0], widths[1]), nn.Linear(widths[1], 1)

    def forward(self, x):
        x = F.leaky_relu(self.fc1(x), 0.2)
        x = F.leaky_relu(self.fc2(x), 0.2)
        return torch.sigmoid(self.fc3(x))


# Streams of the hash: one per tensor or input, fixed here and in tests/GoldenFile.cs, which draws the same inputs.
# SAMPLE_STREAM only picks the stored indices, which the file lists.
PARAM_STREAM, REAL_STREAM, NOISE_STREAM, SAMPLE_STREAM = 1000, 2000, 3000, 4000


def init_linears(net, first_stream):
    """PyTorch's default Linear init, U(-1/sqrt(fan_in), 1/sqrt(fan_in)) for weight and bias, from the hash."""
    s = first_stream
    with torch.no_grad():
        for name, p in net.named_parameters():
            if name.startswith("bn"):
                continue  # BatchNorm's gamma stays 1, beta 0: PyTorch's defaults
            fan_in = dict(net.named_parameters())[name.rsplit(".", 1)[0] + ".weight"].shape[1]
            bound = 1.0 / np.sqrt(fan_in)
            u = uniform(s, p.numel())
            p.copy_(torch.from_numpy((bound * (2.0 * u - 1.0)).astype(np.float32)).view_as(p))
            s += 1
    return s


def real_batch(step, batch):
    """Pixels on MNIST's grid k/127.5 - 1, as the seed's ToTensor + Normalize(0.5, 0.5) makes them."""
    k = np.floor(uniform(REAL_STREAM + step, batch * 784) * 256.0).astype(np.float32)
    return torch.from_numpy((k / np.float32(255) - np.float32(0.5)) / np.float32(0.5)).view(batch, 784)


def noise(step, which, batch):
    return torch.from_numpy(gaussian(NOISE_STREAM + 2 * step + which, batch * Z)).view(batch, Z)


def run(batch, saturating, knobs=SEED_KNOBS):
    G, D = Generator(knobs["tanh"], knobs["bn_before"]), Discriminator()
    init_linears(D, init_linears(G, PARAM_STREAM))
    average = copy.deepcopy(G) if knobs["average_decay"] is not None else None
    betas = (knobs["beta1"], 0.999)
    og = torch.optim.Adam(G.parameters(), lr=2e-4, betas=betas, eps=1e-8, weight_decay=8e-9)
    od = torch.optim.Adam(D.parameters(), lr=2e-4, betas=betas, eps=1e-8, weight_decay=8e-9)
    crit = nn.BCELoss()
    ones, zeros = torch.ones(batch, 1), torch.zeros(batch, 1)
    real_targets = torch.full((batch, 1), knobs["real_target"])
    entries = []
    for step in range(STEPS):
        # exactly the seed's train.py step
        d_out_real = D(real_batch(step, batch))
        d_real = crit(d_out_real, real_targets)
        d_out_fake = D(G(noise(step, 0, batch)).detach())
        d_fake = crit(d_out_fake, zeros)
        d_loss = d_real + d_fake
        D.zero_grad()
        d_loss.backward()
        if step == 0:
            entries += [(f"step0.grad.D.{n}", p.grad.clone()) for n, p in D.named_parameters()]
        od.step()
        d_out_g = D(G(noise(step, 1, batch)))
        g_loss = -crit(d_out_g, zeros) if saturating else crit(d_out_g, ones)
        D.zero_grad()
        G.zero_grad()
        g_loss.backward()
        if step == 0:
            entries += [(f"step0.grad.G.{n}", p.grad.clone()) for n, p in G.named_parameters()]
        og.step()
        if average is not None:
            with torch.no_grad():
                for a, g in zip(list(average.parameters()) + list(average.buffers()),
                                list(G.parameters()) + list(G.buffers())):
                    if a.is_floating_point():  # not num_batches_tracked
                        a.lerp_(g, 1 - knobs["average_decay"])
        for name, value in [("d_loss", d_loss), ("g_loss", g_loss), ("d_real", d_out_real.mean()),
                            ("d_fake", d_out_fake.mean())]:
            entries.append((f"step{step}.{name}", value.detach().reshape(1)))
    for prefix, net, opt in [("G", G, og), ("D", D, od)]:
        for name, p in net.named_parameters():
            state = opt.state[p]
            entries.append((f"{prefix}.{name}", p.detach()))
            entries.append((f"{prefix}.{name}.adam_m", state["exp_avg"]))
            entries.append((f"{prefix}.{name}.adam_v", state["exp_avg_sq"]))
        for name, b in net.named_buffers():
            if "running" in name:
                entries.append((f"{prefix}.{name}", b))
    if average is not None:
        entries += [(f"G_average.{name}", t) for name, t in average.named_parameters()]
        entries += [(f"G_average.{name}", t) for name, t in average.named_buffers() if "running" in name]
    return entries


def sample_indices(name, n):
    stream = SAMPLE_STREAM + sum(name.encode())  # any fixed function of the name: the file stores the indices
    return np.unique((uniform(stream, SAMPLE) * n).astype(np.int64)).astype(np.int32)


def write(path, batch, saturating, entries):
    records = []
    for name, t in entries:
        flat = t.detach().reshape(-1).double().numpy()
        if flat.size <= SAMPLE:
            records.append((name, flat.size, np.arange(flat.size, dtype=np.int32), flat))
        else:
            idx = sample_indices(name, flat.size)
            records.append((name, flat.size, idx, flat[idx]))
            records.append((name + ":sumsq", 1, np.zeros(1, np.int32), np.array([np.sum(flat * flat)])))
    with open(path + ".tmp", "wb") as f:
        f.write(b"IGGOLD1\0" + struct.pack("<IIII", batch, STEPS, int(saturating), len(records)))
        for name, n, idx, values in records:
            raw = name.encode()
            f.write(struct.pack("<H", len(raw)) + raw + struct.pack("<II", n, len(idx)))
            f.write(idx.astype("<i4").tobytes() + values.astype("<f4").tobytes())
    os.replace(path + ".tmp", path)


if __name__ == "__main__":
    torch.set_num_threads(1)
    here = os.path.dirname(os.path.abspath(__file__))
    for batch, saturating, knobs, name in [(16, False, SEED_KNOBS, "golden_b16.bin"),
                                           (16, True, SEED_KNOBS, "golden_b16_saturating.bin"),
                                           (128, False, SEED_KNOBS, "golden_b128.bin"),
                                           (16, False, RECIPE, "golden_b16_recipe.bin")]:
        write(os.path.join(here, name), batch, saturating, run(batch, saturating, knobs))
        print(f"wrote {name}", file=sys.stderr)
