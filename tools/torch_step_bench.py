"""The seed's training step (EmjayAhn/GAN-pytorch) timed in PyTorch, as the anchor our `bench` is compared to
in the same call: eager on the CPU, or on CUDA both eager and captured as one CUDA graph. Data are random
pixels already on the device: the step's cost does not depend on their values.

usage: python3 tools/torch_step_bench.py [cpu|cuda] [iterations]     (prints one JSON object)
On Debian's python3-torch run it with OMP_NUM_THREADS=1 for the single-thread CPU figure.
"""
import json
import statistics
import sys
import time

import os

import torch
import torch.nn as nn

# The seed's two networks, defined once for the golden reference and reused here.
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "reference"))
from make_golden import Discriminator, Generator  # noqa: E402

B, Z = 128, 100
device = torch.device(sys.argv[1] if len(sys.argv) > 1 else "cpu")
iterations = int(sys.argv[2]) if len(sys.argv) > 2 else 50


def make(capturable=False):
    torch.manual_seed(0)
    G, D = Generator().to(device), Discriminator().to(device)
    kw = dict(lr=2e-4, weight_decay=8e-9, **({"capturable": True} if capturable else {}))
    return G, D, torch.optim.Adam(G.parameters(), **kw), torch.optim.Adam(D.parameters(), **kw)


crit = nn.BCELoss()
ones, zeros = torch.ones(B, 1, device=device), torch.zeros(B, 1, device=device)
data = torch.rand(60000 // B * B, 784, device=device) * 2 - 1


def step(G, D, og, od, real):
    d_loss = crit(D(real), ones) + crit(D(G(torch.randn(B, Z, device=device)).detach()), zeros)
    D.zero_grad(set_to_none=False)
    d_loss.backward()
    od.step()
    g_loss = crit(D(G(torch.randn(B, Z, device=device))), ones)
    D.zero_grad(set_to_none=False)
    G.zero_grad(set_to_none=False)
    g_loss.backward()
    og.step()


def sync():
    if device.type == "cuda":
        torch.cuda.synchronize()


def median_ms(fn, repeats=5):
    for _ in range(5):
        fn()
    times = []
    for _ in range(repeats):
        sync()
        t = time.perf_counter()
        for _ in range(iterations):
            fn()
        sync()
        times.append(1e3 * (time.perf_counter() - t) / iterations)
    return statistics.median(times)


result = {"device": torch.cuda.get_device_name(0) if device.type == "cuda" else "cpu",
          "torch": torch.__version__, "threads": torch.get_num_threads(), "batch": B}
G, D, og, od = make()
k = [0]


def eager():
    i = k[0] % (data.shape[0] // B)
    k[0] += 1
    step(G, D, og, od, data[i * B:(i + 1) * B])


result["eager_ms_per_iter"] = median_ms(eager)
if device.type == "cuda":
    G, D, og, od = make(capturable=True)
    real = data[:B].clone()
    s = torch.cuda.Stream()
    s.wait_stream(torch.cuda.current_stream())
    with torch.cuda.stream(s):
        for _ in range(3):
            step(G, D, og, od, real)
    torch.cuda.current_stream().wait_stream(s)
    graph = torch.cuda.CUDAGraph()
    with torch.cuda.graph(graph):
        step(G, D, og, od, real)

    def graphed():
        i = k[0] % (data.shape[0] // B)
        k[0] += 1
        real.copy_(data[i * B:(i + 1) * B])
        graph.replay()

    result["graph_ms_per_iter"] = median_ms(graphed)
print(json.dumps(result))
