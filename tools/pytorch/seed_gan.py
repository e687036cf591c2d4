"""The seed's networks (tests/reference/make_golden.py's Generator and Discriminator) in PyTorch, and IlgpuGan's
safetensors files both ways. Debian's PyTorch 1.13 has no safetensors library, so the format is read and written
here with json and numpy. Run with Debian's python3-torch:

    # IlgpuGan -> PyTorch: `ilgpugan export --safetensors G.safetensors`, then
    python3 tools/pytorch/seed_gan.py sample G.safetensors --count 64 --out images.f32
    python3 tools/pytorch/seed_gan.py score D.safetensors --x images.f32 --out scores.f32   # `export --d-safetensors`
    # PyTorch -> IlgpuGan: a torch.save'd state_dict of the seed's G, then `ilgpugan import --safetensors G.safetensors`
    python3 tools/pytorch/seed_gan.py save G_state_dict.pt G.safetensors [--tanh] [--bn-before]

`sample` builds the seed's G with the file's recipe (tanh, BatchNorm placement from its metadata), loads the state_dict
with strict=True, and writes G.eval()(z) as raw little-endian float32 [N, 784]; z is N(0, 1) from --seed or read from
--z (raw float32 [N, 100]). `score` loads the seed's D likewise and writes D.eval()(x) [N, 1]. `demo` writes a PyTorch G of its own (random weights and BatchNorm statistics moved by a few
train-mode batches), standing in for one trained in PyTorch.
"""
import argparse
import json
import os
import sys

import numpy as np
import torch

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "tests", "reference"))
from make_golden import Z, Discriminator, Generator  # noqa: E402

DTYPES = {"F32": np.float32, "F64": np.float64, "I64": np.int64, "I32": np.int32, "U8": np.uint8}
NAMES = {np.dtype(v): k for k, v in DTYPES.items()}
SEED_WIDTHS = "128,256,512,1024"


def read_safetensors(path):
    """{name: tensor}, {metadata}: u64 header length, JSON header, then the bytes at data_offsets."""
    data = open(path, "rb").read()
    n = int.from_bytes(data[:8], "little")
    header = json.loads(data[8:8 + n])
    metadata = header.pop("__metadata__", {})
    tensors = {}
    for name, t in header.items():
        begin, end = t["data_offsets"]
        array = np.frombuffer(data[8 + n + begin:8 + n + end], dtype=np.dtype(DTYPES[t["dtype"]]).newbyteorder("<"))
        tensors[name] = torch.from_numpy(array.reshape(t["shape"]).copy())
    return tensors, metadata


def write_safetensors(path, state_dict, metadata):
    header, chunks, offset = {"__metadata__": metadata}, [], 0
    for name, tensor in state_dict.items():
        array = tensor.detach().cpu().numpy()
        chunks.append(array.astype(array.dtype.newbyteorder("<")).tobytes())
        header[name] = {"dtype": NAMES[array.dtype], "shape": list(array.shape), "data_offsets": [offset, offset + len(chunks[-1])]}
        offset += len(chunks[-1])
    text = json.dumps(header).encode()
    text += b" " * (-len(text) % 8)
    with open(path, "wb") as f:
        f.write(len(text).to_bytes(8, "little") + text + b"".join(chunks))


def recipe_metadata(tanh, bn_before):
    return {"format": "pt", "network": "generator", "z_dim": str(Z), "image_pixels": "784", "generator_widths": SEED_WIDTHS,
            "tanh_output": "true" if tanh else "false", "batchnorm": "before_activation" if bn_before else "after_activation"}


def load_generator(path):
    """The seed's G with the file's recipe and weights; the metadata must describe the seed's shape."""
    tensors, metadata = read_safetensors(path)
    if metadata.get("z_dim", str(Z)) != str(Z) or metadata.get("generator_widths", SEED_WIDTHS) != SEED_WIDTHS:
        sys.exit(f"{path}: z {metadata.get('z_dim')}, widths {metadata.get('generator_widths')}: not the seed's generator")
    G = Generator(tanh=metadata.get("tanh_output") == "true", bn_before=metadata.get("batchnorm") == "before_activation")
    G.load_state_dict(tensors, strict=True)
    return G.eval()


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = parser.add_subparsers(dest="command", required=True)
    sample = commands.add_parser("sample", help="G.eval()(z) of an exported generator")
    sample.add_argument("safetensors")
    sample.add_argument("--z", help="raw float32 file of z [N, 100]; without it N(0, 1) from --seed")
    sample.add_argument("--count", type=int, default=64)
    sample.add_argument("--seed", type=int, default=0)
    sample.add_argument("--out", required=True, help="raw float32 file of the images [N, 784]")
    score = commands.add_parser("score", help="D.eval()(x) of an exported discriminator")
    score.add_argument("safetensors")
    score.add_argument("--x", required=True, help="raw float32 file of images [N, 784] in [-1, 1]")
    score.add_argument("--out", required=True, help="raw float32 file of D's outputs [N, 1]")
    for name, text in (("save", "a torch.save'd state_dict of the seed's G as safetensors"),
                       ("demo", "a PyTorch G of its own as safetensors")):
        command = commands.add_parser(name, help=text)
        if name == "save":
            command.add_argument("state_dict")
        command.add_argument("out")
        command.add_argument("--tanh", action="store_true", help="G has tanh on its output")
        command.add_argument("--bn-before", action="store_true", help="BatchNorm before LeakyReLU")
        command.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    if args.command == "sample":
        G = load_generator(args.safetensors)
        if args.z:
            z = torch.from_numpy(np.fromfile(args.z, dtype="<f4").reshape(-1, Z))
        else:
            z = torch.randn(args.count, Z, generator=torch.Generator().manual_seed(args.seed))
        with torch.no_grad():
            G(z).numpy().astype("<f4").tofile(args.out)
        return
    if args.command == "score":
        state_dict = read_safetensors(args.safetensors)[0]
        # The hidden widths are the file's own (a recipe may widen D); the layer names and count are the seed's.
        D = Discriminator((state_dict["fc1.weight"].shape[0], state_dict["fc2.weight"].shape[0]))
        D.load_state_dict(state_dict, strict=True)
        x = torch.from_numpy(np.fromfile(args.x, dtype="<f4").reshape(-1, 784))
        with torch.no_grad():
            D.eval()(x).numpy().astype("<f4").tofile(args.out)
        return
    G = Generator(args.tanh, args.bn_before)
    if args.command == "save":
        G.load_state_dict(torch.load(args.state_dict, map_location="cpu"), strict=True)
    else:
        torch.manual_seed(args.seed)
        with torch.no_grad():
            for module in G.modules():
                if isinstance(module, torch.nn.BatchNorm1d):
                    module.weight.uniform_(0.5, 1.5)
                    module.bias.uniform_(-0.5, 0.5)
            for _ in range(3):
                G(torch.randn(32, Z))
    write_safetensors(args.out, G.state_dict(), recipe_metadata(args.tanh, args.bn_before))


if __name__ == "__main__":
    main()
