"""Reading and writing the golden format (Tests/SinterTests/Golden/README.md): safetensors files of
float32 tensors and the cases.json index. Used by make_model_cases.py only; nothing here is run
by `swift test`."""
import gzip
import json
import struct

import numpy as np

FASHION_MNIST = "/usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz"
MNIST_5K = "/work/shared/data/mnist-5k-images-idx3-ubyte.gz"


def idx_images(path):
    """An IDX3 file of uint8 images as (N, H, W, 1)."""
    with gzip.open(path) as f:
        data = f.read()
    n, h, w = struct.unpack(">III", data[4:16])
    return np.frombuffer(data[16:], dtype=np.uint8).reshape(n, h, w, 1)


def read_safetensors(path):
    """name -> float32 array (every golden tensor is F32)."""
    with open(path, "rb") as f:
        blob = f.read()
    (n,) = struct.unpack("<Q", blob[:8])
    header = json.loads(blob[8:8 + n])
    base = 8 + n
    out = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        if info["dtype"] != "F32":
            raise ValueError(f"{path}: tensor {name} is {info['dtype']}, not F32")
        start, end = info["data_offsets"]
        out[name] = np.frombuffer(blob[base + start:base + end], dtype="<f4").reshape(info["shape"]).copy()
    return out


def write_safetensors(path, case_name, tensors):
    """Writes float32 little-endian C-order tensors, sorted by name, metadata {"case": name},
    header padded with spaces to a multiple of 8 (as the existing golden files are)."""
    header = {"__metadata__": {"case": case_name}}
    chunks, offset = [], 0
    for name in sorted(tensors):
        data = np.ascontiguousarray(tensors[name], dtype="<f4").tobytes()
        header[name] = {"dtype": "F32", "shape": list(np.shape(tensors[name])), "data_offsets": [offset, offset + len(data)]}
        chunks.append(data)
        offset += len(data)
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * (-len(text) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)) + text + b"".join(chunks))


def load_cases(path):
    with open(path) as f:
        return json.load(f)


def save_cases(path, index):
    """The same layout as the shipped cases.json (indent 1, ASCII, no final newline)."""
    with open(path, "w") as f:
        f.write(json.dumps(index, indent=1))


def max_abs(a):
    return float(np.max(np.abs(a))) if np.size(a) else 0.0
