"""Writes classification.safetensors: Keras's softmax, cross-entropies, their gradients and the
accuracy metrics on small hand-made inputs, for ClassificationKerasTests.

Run with TensorFlow 2.21 / Keras 3.15 on CPU: `python make_classification.py` (deterministic:
fixed inputs, a seeded generator, oneDNN off). Every result is computed twice, from float32
inputs (`<name>`, stored F32) and from the same values in float64 (`f64.<name>`, stored F64),
except the metrics (TF's in_top_k takes float32 only).
"""
import json, os, struct
os.environ["TF_ENABLE_ONEDNN_OPTS"] = "0"
os.environ["TF_CPP_MIN_LOG_LEVEL"] = "3"
import numpy as np
import tensorflow as tf
import keras

tf.config.threading.set_intra_op_parallelism_threads(1)
rng = np.random.default_rng(10)
classes = 5

# Logits: ordinary rows, then the edge cases: huge logits, a near tie, all equal, huge negative.
logits = np.concatenate([rng.normal(0, 3, (4, classes)),
                         [[1000, -1000, 0, 500, 999.5],
                          [3, 3, 3, 3, 3.0000001],
                          [2, 2, 2, 2, 2],
                          [-1e4, -1e4 + 1, -5e3, -2e4, -1e4]]])
labels = np.array([0, 3, 4, 1, 4, 0, 2, 1], dtype=np.int32)
onehot = np.eye(classes)[labels]
soft = rng.dirichlet(np.ones(classes), len(labels))
# Probabilities: normalised rows, then exact 0 and 1, rows not summing to 1, tiny values.
probs = np.concatenate([rng.dirichlet(np.ones(classes), 4),
                        [[0, 1, 0, 0, 0],
                         [0.2, 0.2, 0.2, 0.2, 0.6],
                         [1e-9, 1e-9, 1 - 4e-9, 1e-9, 1e-9],
                         [0.05, 0.05, 0.05, 0.05, 0.05]]])

# Metrics: ties at the argmax and at the top-k boundary, a NaN, -0 against +0.
scores = np.array([[0.1, 0.6, 0.2, 0.1],
                   [0.4, 0.4, 0.1, 0.1],
                   [0.3, 0.3, 0.3, 0.1],
                   [0.1, 0.2, 0.3, 0.4],
                   [np.nan, 0.1, 0.2, 0.3],
                   [-0.0, 0.0, -1, -1],
                   [0.5, 0.2, 0.2, 0.1],
                   [0.25, 0.25, 0.25, 0.25]])
score_labels = np.array([1, 1, 2, 0, 3, 1, 2, 3], dtype=np.int32)
score_onehot = np.eye(4)[score_labels]

L = keras.losses
M = keras.metrics

def grad(f, x):
    x = tf.constant(x)
    with tf.GradientTape() as tape:
        tape.watch(x)
        y = tf.reduce_mean(f(x))
    return tape.gradient(y, x).numpy()

def results(dtype):
    c = lambda a: tf.constant(np.asarray(a, dtype=dtype))
    z, p, t, s = c(logits), c(probs), c(onehot), c(soft)
    y = tf.constant(labels)
    out = {
        "softmax": keras.activations.softmax(z),
        "log_softmax": keras.ops.log_softmax(z),
        "cce_logits_onehot": L.categorical_crossentropy(t, z, from_logits=True),
        "cce_logits_soft": L.categorical_crossentropy(s, z, from_logits=True),
        "cce_logits_smooth": L.categorical_crossentropy(t, z, from_logits=True, label_smoothing=0.1),
        "cce_probs_onehot": L.categorical_crossentropy(t, p),
        "cce_probs_soft": L.categorical_crossentropy(s, p),
        "cce_softmax_onehot": L.categorical_crossentropy(t, keras.activations.softmax(z)),
        "scce_logits": L.sparse_categorical_crossentropy(y, z, from_logits=True),
        "scce_probs": L.sparse_categorical_crossentropy(y, p),
        # The loss objects compute in their own dtype (float32 unless told).
        "scce_logits_mean": L.SparseCategoricalCrossentropy(from_logits=True, dtype=dtype.__name__)(y, z),
        "cce_logits_mean": L.CategoricalCrossentropy(from_logits=True, dtype=dtype.__name__)(s, z),
        "grad_cce_logits": grad(lambda x: L.categorical_crossentropy(s, x, from_logits=True), z),
        "grad_cce_probs": grad(lambda x: L.categorical_crossentropy(s, x), p),
        "grad_scce_logits": grad(lambda x: L.sparse_categorical_crossentropy(y, x, from_logits=True), z),
        "grad_scce_probs": grad(lambda x: L.sparse_categorical_crossentropy(y, x), p),
    }
    if dtype != np.float32:  # TF's InTopKV2 takes float32 only: the metrics are float32 alone
        return {name: np.asarray(v) for name, v in out.items()}
    q, yq, tq = c(scores), tf.constant(score_labels), c(score_onehot)
    out["argmax"] = keras.ops.argmax(q, axis=-1)
    out["sparse_accuracy"] = M.sparse_categorical_accuracy(yq, q)
    out["categorical_accuracy"] = M.categorical_accuracy(tq, q)
    for k in (1, 2, 3):
        out[f"sparse_top{k}"] = M.sparse_top_k_categorical_accuracy(yq, q, k=k)
        out[f"top{k}"] = M.top_k_categorical_accuracy(tq, q, k=k)
    return {name: np.asarray(v) for name, v in out.items()}

tensors = {"logits": logits.astype(np.float32), "labels": labels, "onehot": onehot.astype(np.float32),
           "soft": soft.astype(np.float32), "probs": probs.astype(np.float32),
           "scores": scores.astype(np.float32), "score_labels": score_labels, "score_onehot": score_onehot.astype(np.float32),
           "f64.logits": logits, "f64.onehot": onehot, "f64.soft": soft, "f64.probs": probs}
for name, value in results(np.float32).items():
    tensors[name] = value.astype(np.int32 if name == "argmax" else np.float32)
for name, value in results(np.float64).items():
    tensors["f64." + name] = value.astype(np.int32 if name == "argmax" else np.float64)

# safetensors: 8-byte little-endian header length, JSON header, raw little-endian data.
codes = {np.dtype(np.float32): "F32", np.dtype(np.float64): "F64", np.dtype(np.int32): "I32"}
header, blobs, offset = {"__metadata__": {"made_with": f"tensorflow {tf.__version__}, keras {keras.__version__}"}}, [], 0
for name in sorted(tensors):
    data = np.ascontiguousarray(tensors[name]).astype(tensors[name].dtype.newbyteorder("<")).tobytes()
    header[name] = {"dtype": codes[tensors[name].dtype], "shape": list(tensors[name].shape), "data_offsets": [offset, offset + len(data)]}
    blobs.append(data)
    offset += len(data)
text = json.dumps(header, separators=(",", ":")).encode()
text += b" " * (-len(text) % 8)
here = os.path.dirname(os.path.abspath(__file__))
with open(os.path.join(here, "classification.safetensors"), "wb") as f:
    f.write(struct.pack("<Q", len(text)) + text + b"".join(blobs))
print(f"wrote {len(tensors)} tensors, {8 + len(text) + offset} bytes")
