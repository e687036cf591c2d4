"""Recipe research for issue 5: train a vanilla-GAN recipe on MNIST with PyTorch on one CPU core and measure its
samples at chosen epochs with the issue's yardsticks (class shares, classifier score, Fréchet distance in an MNIST
classifier's features, Parzen-window log-likelihood as Goodfellow et al. 2014). Every run tracks an exponential
moving average of G's weights too and measures both, so the EMA knob costs no extra run.

    OMP_NUM_THREADS=1 nice -n 10 /usr/bin/python3 tools/recipes/recipe_search.py \
        --recipe "seed:tanh=1,bn=before" --name tanh_bnb --epochs 20 --eval 1,5,10,20 --csv recipes.csv
    OMP_NUM_THREADS=1 /usr/bin/python3 tools/recipes/recipe_search.py --real --csv recipes.csv

A recipe is a preset name, optionally followed by ':' and knob=value overrides separated by commas. Knobs:
tanh (0/1), bn (after = Linear→LReLU→BN as the seed, before = Linear→BN→LReLU), lr, beta1, real_target
(one-sided label smoothing), ddrop (dropout after each hidden LReLU of D), ema (decay of G's weight average),
batch, dh (D hidden widths, e.g. 512-256). Samples are drawn as the seed does: BN in train mode, batches of the
training batch size, then clamped and quantised to bytes as saved images are.
"""
import argparse
import copy
import csv
import math
import os
import sys
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

torch.set_num_threads(1)
Z = 100
CACHE = "/tmp/recipe_cache"
DATA = "/work/main/data/mnist"
SAMPLES = 10000

PRESETS = {
    "seed": dict(tanh=0, bn="after", lr=2e-4, beta1=0.9, real_target=1.0, ddrop=0.0, ema=0.999, batch=128,
                 dh="256-128"),
    "pytorchgan": dict(tanh=1, bn="before", lr=2e-4, beta1=0.5, real_target=1.0, ddrop=0.0, ema=0.999, batch=64,
                       dh="512-256"),
}
KNOB_TYPES = dict(tanh=int, bn=str, lr=float, beta1=float, real_target=float, ddrop=float, ema=float, batch=int,
                  dh=str)


def parse_recipe(text):
    name, _, overrides = text.partition(":")
    if name not in PRESETS:
        sys.exit(f"unknown preset '{name}' (known: {', '.join(PRESETS)})")
    knobs = dict(PRESETS[name])
    for item in filter(None, overrides.split(",")):
        key, _, value = item.partition("=")
        if key not in KNOB_TYPES:
            sys.exit(f"unknown knob '{key}' (known: {', '.join(KNOB_TYPES)})")
        knobs[key] = KNOB_TYPES[key](value)
    if knobs["bn"] not in ("after", "before"):
        sys.exit(f"bn must be 'after' or 'before', not '{knobs['bn']}'")
    return knobs


def read_idx(path):
    with open(path, "rb") as f:
        raw = f.read()
    ndim = raw[3]
    dims = [int.from_bytes(raw[4 + 4 * i: 8 + 4 * i], "big") for i in range(ndim)]
    return np.frombuffer(raw, np.uint8, offset=4 + 4 * ndim).reshape(dims)


def load_mnist():
    def images(name):
        return torch.from_numpy(read_idx(os.path.join(DATA, name)).reshape(-1, 784).copy())

    def labels(name):
        return torch.from_numpy(read_idx(os.path.join(DATA, name)).astype(np.int64))

    return (images("train-images-idx3-ubyte"), labels("train-labels-idx1-ubyte"),
            images("t10k-images-idx3-ubyte"), labels("t10k-labels-idx1-ubyte"))


def to_signed(pixels):
    """Bytes to [−1, 1] as the seed's Normalize((0.5,), (0.5,)) does."""
    return (pixels.float() / 255 - 0.5) / 0.5


def quantise(x):
    """[−1, 1] floats to bytes as the trainer saves them: clamp, ((v + 1)/2)·255 + 0.5 truncated."""
    return ((x.clamp(-1, 1) + 1) * 0.5 * 255 + 0.5).to(torch.uint8)


class Generator(nn.Module):
    def __init__(self, tanh, bn_before):
        super().__init__()
        dims = [Z, 128, 256, 512, 1024]
        self.fc = nn.ModuleList(nn.Linear(a, b) for a, b in zip(dims, dims[1:]))
        self.bn = nn.ModuleList(nn.BatchNorm1d(b, momentum=0.8) for b in dims[1:])
        self.out = nn.Linear(1024, 784)
        self.tanh, self.bn_before = tanh, bn_before

    def forward(self, z):
        for fc, bn in zip(self.fc, self.bn):
            z = F.leaky_relu(bn(fc(z)), 0.2) if self.bn_before else bn(F.leaky_relu(fc(z), 0.2))
        x = self.out(z)
        return torch.tanh(x) if self.tanh else x


class Discriminator(nn.Module):
    def __init__(self, hidden, dropout):
        super().__init__()
        dims = [784] + hidden
        self.fc = nn.ModuleList(nn.Linear(a, b) for a, b in zip(dims, dims[1:]))
        self.out = nn.Linear(dims[-1], 1)
        self.dropout = dropout

    def forward(self, x):
        for fc in self.fc:
            x = F.dropout(F.leaky_relu(fc(x), 0.2), self.dropout, self.training)
        return torch.sigmoid(self.out(x))


class Classifier(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1, self.fc2, self.fc3 = nn.Linear(784, 512), nn.Linear(512, 256), nn.Linear(256, 10)

    def features(self, x):
        return F.relu(self.fc2(F.dropout(F.relu(self.fc1(x)), 0.2, self.training)))

    def forward(self, x):
        return self.fc3(F.dropout(self.features(x), 0.2, self.training))


def trained_classifier(xtr, ytr, xte, yte):
    """The yardstick classifier, trained once with a fixed seed and cached."""
    path = os.path.join(CACHE, "classifier.pt")
    net = Classifier()
    if os.path.exists(path):
        net.load_state_dict(torch.load(path))
    else:
        torch.manual_seed(1234)
        opt = torch.optim.Adam(net.parameters(), lr=1e-3)
        x, y = to_signed(xtr), ytr
        for epoch in range(20):
            for g in opt.param_groups:
                g["lr"] = 1e-3 * 0.8 ** epoch
            perm = torch.randperm(x.shape[0])
            for i in range(0, x.shape[0], 128):
                idx = perm[i:i + 128]
                loss = F.cross_entropy(net(x[idx]), y[idx])
                opt.zero_grad()
                loss.backward()
                opt.step()
        os.makedirs(CACHE, exist_ok=True)
        torch.save(net.state_dict(), path + ".tmp")
        os.replace(path + ".tmp", path)
    net.eval()
    with torch.no_grad():
        accuracy = (net(to_signed(xte)).argmax(1) == yte).float().mean().item()
    if accuracy < 0.98:
        sys.exit(f"classifier test accuracy {accuracy:.4f} is under 0.98; delete {path} and retrain")
    return net, accuracy


def mean_cov(features):
    f = features.double()
    mu = f.mean(0)
    centred = f - mu
    return mu, centred.T @ centred / (f.shape[0] - 1)


def sqrt_psd(m):
    values, vectors = torch.linalg.eigh(m)
    return (vectors * values.clamp(min=0).sqrt()) @ vectors.T


def frechet(stats_a, stats_b):
    (mu_a, cov_a), (mu_b, cov_b) = stats_a, stats_b
    root_a = sqrt_psd(cov_a)
    # tr sqrt(A B) = tr sqrt(√A B √A), the latter symmetric positive semi-definite
    middle = root_a @ cov_b @ root_a
    trace_root = torch.linalg.eigvalsh((middle + middle.T) / 2).clamp(min=0).sqrt().sum()
    return ((mu_a - mu_b).square().sum() + cov_a.trace() + cov_b.trace() - 2 * trace_root).item()


def parzen_log_likelihoods(points, centres, sigmas, chunk=1000):
    """log of a Gaussian-window density with the given centres at each point (rows in [0, 1]), one row per σ;
    the distances, the heavy part, are computed once for all σ."""
    d = points.shape[1]
    centre_norms = centres.square().sum(1)
    out = [[] for _ in sigmas]
    for i in range(0, points.shape[0], chunk):
        p = points[i:i + chunk]
        sq = (p.square().sum(1, keepdim=True) + centre_norms - 2 * p @ centres.T).clamp(min=0).double()
        for k, sigma in enumerate(sigmas):
            out[k].append(torch.logsumexp(-sq / (2 * sigma * sigma), 1))
    return torch.stack([torch.cat(o) - math.log(centres.shape[0]) - d * math.log(s * math.sqrt(2 * math.pi))
                        for o, s in zip(out, sigmas)])


class Yardstick:
    def __init__(self):
        xtr, ytr, xte, yte = load_mnist()
        self.classifier, self.accuracy = trained_classifier(xtr, ytr, xte, yte)
        self.test_stats = mean_cov(self.features(xte))
        self.validation = xtr[50000:51000].float() / 255
        self.test = xte.float() / 255
        self.real_train = xtr[:SAMPLES]

    def features(self, pixels):
        with torch.no_grad():
            return self.classifier.features(to_signed(pixels))

    def measure(self, pixels):
        """pixels: uint8 [n, 784]."""
        with torch.no_grad():
            feats = self.features(pixels)
            probs = F.softmax(self.classifier.fc3(feats), 1).double()
        shares = torch.bincount(probs.argmax(1), minlength=10).double() / pixels.shape[0]
        marginal = probs.mean(0)
        kl = (probs * (probs.clamp(min=1e-30).log() - marginal.log())).sum(1).mean()
        centres = pixels.float() / 255
        sigmas = np.logspace(-1, 0, 10)
        sigma = sigmas[parzen_log_likelihoods(self.validation, centres, sigmas).mean(1).argmax().item()]
        ll = parzen_log_likelihoods(self.test, centres, [sigma])[0]
        return dict(min_share=shares.min().item(), classes_ge5=int((shares >= 0.05).sum().item()),
                    score=math.exp(kl.item()), frechet=frechet(mean_cov(feats), self.test_stats),
                    parzen=ll.mean().item(), parzen_se=ll.std().item() / math.sqrt(ll.shape[0]), sigma=sigma,
                    shares=" ".join(f"{s:.3f}" for s in shares.tolist()))


def draw(generator, batch, count=SAMPLES, seed=777):
    """count samples as the seed draws them: BN by each batch's statistics; fixed noise across epochs."""
    g = copy.deepcopy(generator).train()
    noise = torch.randn(count + batch, Z, generator=torch.Generator().manual_seed(seed))
    parts = []
    with torch.no_grad():
        for start in range(0, count, batch):
            parts.append(g(noise[start:start + batch]))
    return quantise(torch.cat(parts)[:count])


def save_grid(pixels, path, side=10):
    from PIL import Image
    grid = pixels[:side * side].reshape(side, side, 28, 28).permute(0, 2, 1, 3).reshape(side * 28, side * 28)
    Image.fromarray(grid.numpy()).save(path)


FIELDS = ["utc", "name", "recipe", "seed", "epoch", "variant", "classes_ge5", "min_share", "score", "frechet",
          "parzen", "parzen_se", "sigma", "d_loss", "g_loss", "train_s", "shares"]


def emit(csv_path, row):
    row["utc"] = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    print(f"{row['name']:>24} ep {row['epoch']:>3} {row['variant']:>4}: classes≥5% {row['classes_ge5']:>2} "
          f"min {row['min_share']:.3f} score {row['score']:.2f} FD {row['frechet']:.2f} "
          f"Parzen {row['parzen']:.1f}±{row['parzen_se']:.1f} (σ {row['sigma']:.3f}) "
          f"loss D {row['d_loss']:.3f} G {row['g_loss']:.3f} [{row['train_s']:.0f}s]", flush=True)
    new = not os.path.exists(csv_path)
    with open(csv_path, "a", newline="") as f:
        writer = csv.DictWriter(f, FIELDS)
        if new:
            writer.writeheader()
        writer.writerow({k: (f"{v:.4f}" if isinstance(v, float) else v) for k, v in row.items()})


def train(args, yardstick):
    knobs = parse_recipe(args.recipe)
    print(f"{args.name}: {knobs}", flush=True)
    torch.manual_seed(args.seed)
    xtr = to_signed(load_mnist()[0])
    batch = knobs["batch"]
    G = Generator(knobs["tanh"], knobs["bn"] == "before")
    D = Discriminator([int(w) for w in knobs["dh"].split("-")], knobs["ddrop"])
    ema = copy.deepcopy(G) if knobs["ema"] > 0 else None
    betas = (knobs["beta1"], 0.999)
    og = torch.optim.Adam(G.parameters(), lr=knobs["lr"], betas=betas, weight_decay=8e-9)
    od = torch.optim.Adam(D.parameters(), lr=knobs["lr"], betas=betas, weight_decay=8e-9)
    real_target = torch.full((batch, 1), knobs["real_target"])
    ones, zeros = torch.ones(batch, 1), torch.zeros(batch, 1)
    evals = {int(e) for e in args.eval.split(",")}
    steps_per_epoch = xtr.shape[0] // batch
    train_s = 0.0
    for epoch in range(1, args.epochs + 1):
        start = time.time()
        perm = torch.randperm(xtr.shape[0])
        d_sum = g_sum = 0.0
        for i in range(steps_per_epoch):
            real = xtr[perm[i * batch:(i + 1) * batch]]
            fake = G(torch.randn(batch, Z)).detach()
            d_loss = F.binary_cross_entropy(D(real), real_target) + F.binary_cross_entropy(D(fake), zeros)
            od.zero_grad()
            d_loss.backward()
            od.step()
            g_loss = F.binary_cross_entropy(D(G(torch.randn(batch, Z))), ones)
            og.zero_grad()
            g_loss.backward()
            og.step()
            if ema is not None:
                with torch.no_grad():
                    for pe, p in zip(ema.parameters(), G.parameters()):
                        pe.lerp_(p, 1 - knobs["ema"])
            d_sum += d_loss.item()
            g_sum += g_loss.item()
        train_s += time.time() - start
        if epoch in evals:
            variants = [("G", G)] + ([("EMA", ema)] if ema is not None else [])
            for variant, net in variants:
                pixels = draw(net, batch)
                if args.grids:
                    os.makedirs(args.grids, exist_ok=True)
                    save_grid(pixels, os.path.join(args.grids, f"{args.name}_e{epoch:03d}_{variant}.png"))
                row = dict(name=args.name, recipe=args.recipe, seed=args.seed, epoch=epoch, variant=variant,
                           d_loss=d_sum / steps_per_epoch, g_loss=g_sum / steps_per_epoch, train_s=train_s)
                row.update(yardstick.measure(pixels))
                emit(args.csv, row)


def table(csv_path):
    """The CSV as a markdown table, one row per (run, epoch, sampler), runs in the order they started."""
    with open(csv_path) as f:
        rows = list(csv.DictReader(f))
    first_seen = {}
    for r in rows:
        first_seen.setdefault(r["name"], len(first_seen))
    rows.sort(key=lambda r: (first_seen[r["name"]], int(r["epoch"]), r["variant"] != "G"))
    print("| run | epoch | sampler | classes ≥5% | min share | score | Fréchet | Parzen ± s.e. (σ) |")
    print("|---|---:|---|---:|---:|---:|---:|---|")
    for r in rows:
        print(f"| {r['name']} | {r['epoch']} | {r['variant']} | {r['classes_ge5']} | {float(r['min_share']):.3f} | "
              f"{float(r['score']):.2f} | {float(r['frechet']):.2f} | "
              f"{float(r['parzen']):.1f} ± {float(r['parzen_se']):.1f} ({float(r['sigma']):.3f}) |")


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--recipe", default="seed")
    parser.add_argument("--name")
    parser.add_argument("--epochs", type=int, default=20)
    parser.add_argument("--eval", default="1,5,10,20")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--csv", default="recipes.csv")
    parser.add_argument("--grids", help="folder for 10×10 sample grids at each evaluation")
    parser.add_argument("--real", action="store_true", help="measure 10,000 real training digits (the ceiling)")
    parser.add_argument("--table", action="store_true", help="print the CSV as a markdown table and stop")
    args = parser.parse_args()
    if args.table:
        return table(args.csv)
    yardstick = Yardstick()
    print(f"classifier test accuracy {yardstick.accuracy:.4f}", flush=True)
    if args.real:
        row = dict(name="real-train-10k", recipe="-", seed=0, epoch=0, variant="real", d_loss=0.0, g_loss=0.0,
                   train_s=0.0)
        row.update(yardstick.measure(yardstick.real_train))
        emit(args.csv, row)
    else:
        args.name = args.name or args.recipe
        train(args, yardstick)


if __name__ == "__main__":
    main()
