"""The same model and protocol as the Swift example, in Keras (TensorFlow backend), for the
accuracy figure the guide puts beside Sinter's.

    ~/peers-venv/bin/python keras_reference.py [--epochs 3] [--batch 128] [--lr 0.001] [--seed 0]
        [--train-limit N] [--test-limit N] [--data /usr/share/datasets/fashion-mnist]

Model: Conv2D(32, 3, relu) - MaxPool(2) - Conv2D(64, 3, relu) - MaxPool(2) - Flatten - Dense(10),
Keras defaults (valid padding, glorot-uniform kernels, zero biases); sparse categorical
cross-entropy from logits; Adam; the first N training images (pixels / 255) shuffled every epoch;
accuracy on the first M test images. Reads the same IDX files as the Swift program.
"""
import argparse
import gzip
import os
import time

import numpy as np


def read_idx(path):
    """An IDX file (gzip'd) as a uint8 array of its dimensions."""
    with gzip.open(path, "rb") as f:
        data = f.read()
    dims = data[3]
    shape = [int.from_bytes(data[4 + 4 * i: 8 + 4 * i], "big") for i in range(dims)]
    return np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * dims).reshape(shape)


def load(directory, split, limit):
    images = read_idx(os.path.join(directory, f"{split}-images-idx3-ubyte.gz"))[:limit]
    labels = read_idx(os.path.join(directory, f"{split}-labels-idx1-ubyte.gz"))[:limit]
    return (images.astype("float32") / 255.0)[..., None], labels.astype("int32")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--batch", type=int, default=128)
    parser.add_argument("--lr", type=float, default=1e-3)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--train-limit", type=int, default=None)
    parser.add_argument("--test-limit", type=int, default=None)
    parser.add_argument("--data", default="/usr/share/datasets/fashion-mnist")
    args = parser.parse_args()

    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    import keras  # after the log level, so TensorFlow's start-up chatter stays quiet
    from keras import layers

    keras.utils.set_random_seed(args.seed)
    x_train, y_train = load(args.data, "train", args.train_limit)
    x_test, y_test = load(args.data, "t10k", args.test_limit)
    model = keras.Sequential([
        keras.Input((28, 28, 1)),
        layers.Conv2D(32, 3, activation="relu"),
        layers.MaxPooling2D(2),
        layers.Conv2D(64, 3, activation="relu"),
        layers.MaxPooling2D(2),
        layers.Flatten(),
        layers.Dense(10),
    ])
    model.compile(optimizer=keras.optimizers.Adam(args.lr),
                  loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True), metrics=["accuracy"])
    print(f"keras {keras.__version__}: {len(x_train)} training and {len(x_test)} test images, "
          f"{model.count_params()} parameters")
    started = time.time()
    model.fit(x_train, y_train, batch_size=args.batch, epochs=args.epochs, shuffle=True, verbose=2,
              validation_data=(x_test, y_test))
    print(f"trained {args.epochs} epochs in {time.time() - started:.0f} s")
    loss, accuracy = model.evaluate(x_test, y_test, batch_size=args.batch, verbose=0)
    print(f"test accuracy {accuracy:.4f}  (loss {loss:.4f})")


if __name__ == "__main__":
    main()
