"""The golden model cases' networks in Keras 3 (TensorFlow backend), one training step each, with
the layer names and tensor names of Tests/SinterTests/Golden/README.md ("Models"). Each model is
built for one width divisor and one dtype (float32 for the stored values, float64 for the ref64_*
recomputation) and describes its phases: what runs, which layers train, which BatchNorm layers
run in training mode (their updated moving statistics are stored) and which optimizer applies."""
import tensorflow as tf
from keras import layers as L

sce = tf.nn.sigmoid_cross_entropy_with_logits


class Phase:
    """One optimizer step. `run()` does the forward pass and returns (loss, [(name, output)],
    [(name, activation)]); names are without the phase prefix ("d." / "g." / "")."""

    def __init__(self, prefix, run, train, bn_training, optimizer):
        self.prefix, self.run, self.train, self.bn_training, self.optimizer = prefix, run, train, bn_training, optimizer


def leaky(t):
    return tf.nn.leaky_relu(t, 0.2)


class Net:
    """Named Keras layers in a fixed order (the order of grad./step. tensors)."""

    def __init__(self, dtype):
        self.dtype = dtype
        self.layers = []

    def add(self, layer):
        self.layers.append(layer)
        return layer

    def conv(self, name, filters, kernel, strides=1, padding="same", activation=None, bias=True):
        return self.add(L.Conv2D(filters, kernel, strides=strides, padding=padding, activation=activation,
                                 use_bias=bias, name=name, dtype=self.dtype))

    def deconv(self, name, filters, kernel, strides=1, padding="same", activation=None, bias=True):
        return self.add(L.Conv2DTranspose(filters, kernel, strides=strides, padding=padding, activation=activation,
                                          use_bias=bias, name=name, dtype=self.dtype))

    def dense(self, name, units, activation=None):
        return self.add(L.Dense(units, activation=activation, name=name, dtype=self.dtype))

    def bn(self, name):  # Keras defaults: momentum 0.99, epsilon 1e-3
        return self.add(L.BatchNormalization(name=name, dtype=self.dtype))


def mean_bce_logits(labels, logits):
    return tf.reduce_mean(sce(labels=labels, logits=logits))


class Autoencoder(Net):
    """§5 conv autoencoder; widths c // k as ConvAutoencoder(widthDivisor:) does."""
    model = "autoencoder"
    inputs = ["x"]

    def __init__(self, k, dtype):
        super().__init__(dtype)
        w = lambda c: c // k
        self.enc1 = self.conv("enc1", w(64), 3, activation="relu")
        self.enc2 = self.conv("enc2", w(128), 3, activation="relu")
        self.bottleneck = self.conv("bottleneck", w(256), 3, activation="relu")
        self.dec1 = self.conv("dec1", w(128), 3, activation="relu")
        self.dec2 = self.conv("dec2", w(64), 3, activation="relu")
        self.out = self.conv("out", 1, 3)
        self.pool = L.MaxPooling2D(2, dtype=dtype)
        self.up = L.UpSampling2D(2, dtype=dtype)

    def phases(self, t):
        def run():
            x = t["x"]
            h = self.pool(self.enc1(x))
            h = self.pool(self.enc2(h))
            h = self.up(self.dec1(self.bottleneck(h)))
            logits = self.out(self.up(self.dec2(h)))
            return mean_bce_logits(x, logits), [("out", tf.sigmoid(logits)), ("out_logits", logits)], []
        return [Phase("", run, self.layers, [], "step")]


class VAE(Net):
    """§7 VAE with every BN in training mode; widths max(1, c // k) as VAE(widthDivisor:) does."""
    model = "vae"
    inputs = ["x", "eps"]

    def __init__(self, k, dtype):
        super().__init__(dtype)
        w = lambda c: max(1, c // k)
        self.bottleneck = w(64)
        self.enc_conv1 = self.conv("enc_conv1", w(32), 3, strides=2, activation="relu")
        self.enc_bn1 = self.bn("enc_bn1")
        self.enc_conv2 = self.conv("enc_conv2", w(64), 3, strides=2, activation="relu")
        self.enc_bn2 = self.bn("enc_bn2")
        self.enc_dense = self.dense("enc_dense", w(20), activation="relu")
        self.enc_bn3 = self.bn("enc_bn3")
        self.logvar = self.dense("logvar", 2)  # the stored grad./step. order has logvar before mu
        self.mu = self.dense("mu", 2)
        self.dec_dense = self.dense("dec_dense", 7 * 7 * self.bottleneck, activation="relu")
        self.dec_bn1 = self.bn("dec_bn1")
        self.dec_deconv1 = self.deconv("dec_deconv1", w(64), 3, strides=2, activation="relu")
        self.dec_bn2 = self.bn("dec_bn2")
        self.dec_deconv2 = self.deconv("dec_deconv2", w(32), 3, strides=2, activation="relu")
        self.dec_bn3 = self.bn("dec_bn3")
        self.dec_out = self.deconv("dec_out", 1, 3, activation="sigmoid")

    def phases(self, t):
        def run():
            x, eps, acts = t["x"], t["eps"], []
            def tap(name, value):
                acts.append((name, value))
                return value
            h = tap("act.enc_conv1", self.enc_conv1(x))
            h = tap("act.enc_bn1", self.enc_bn1(h, training=True))
            h = tap("act.enc_conv2", self.enc_conv2(h))
            h = tap("act.enc_bn2", self.enc_bn2(h, training=True))
            h = tap("act.enc_dense", self.enc_dense(tf.reshape(h, [h.shape[0], -1])))
            h = tap("act.enc_bn3", self.enc_bn3(h, training=True))
            mu, logvar = self.mu(h), self.logvar(h)
            z = mu + tf.exp(0.5 * logvar) * eps
            h = tap("act.dec_dense", self.dec_dense(z))
            h = tap("act.dec_bn1", self.dec_bn1(h, training=True))
            h = tf.reshape(h, [h.shape[0], 7, 7, self.bottleneck])
            h = self.dec_bn2(self.dec_deconv1(h), training=True)
            h = self.dec_bn3(self.dec_deconv2(h), training=True)
            out = self.dec_out(h)
            # Keras 2's binary_crossentropy on probabilities (the flattened output carries no logits).
            q = tf.clip_by_value(tf.reshape(out, [-1]), 1e-7, 1 - 1e-7)
            target = tf.reshape(x, [-1])
            bce = tf.reduce_mean(-(target * tf.math.log(q + 1e-7) + (1 - target) * tf.math.log(1 - q + 1e-7)))
            kl = -0.5 * tf.reduce_mean(1 + logvar - tf.square(mu) - tf.exp(logvar))
            loss = bce * 784 + kl
            outs = [("mu", mu), ("logvar", logvar), ("z", z), ("out", out), ("bce", bce), ("kl", kl)]
            return loss, outs, acts
        bns = [self.enc_bn1, self.enc_bn2, self.enc_bn3, self.dec_bn1, self.dec_bn2, self.dec_bn3]
        return [Phase("", run, self.layers, bns, "step")]


class DCGAN:
    """§10 DCGAN, dropout off; widths max(1, c // k) as DCGAN(widthDivisor:) does."""
    model = "dcgan"
    inputs = ["d.z", "d.real", "d.labels", "g.z", "g.labels"]

    def __init__(self, k, dtype):
        w = lambda c: max(1, c // k)
        self.g, self.d = Net(dtype), Net(dtype)
        self.base = w(128)
        self.g_dense = self.g.dense("g_dense", 7 * 7 * self.base)
        self.g_bn1 = self.g.bn("g_bn1")
        self.g_deconv1 = self.g.deconv("g_deconv1", w(64), 5, strides=2, activation="selu")
        self.g_bn2 = self.g.bn("g_bn2")
        self.g_deconv2 = self.g.deconv("g_deconv2", 1, 5, strides=2, activation="tanh")
        self.d_conv1 = self.d.conv("d_conv1", w(64), 5, strides=2, activation=leaky)
        self.d_conv2 = self.d.conv("d_conv2", w(128), 5, strides=2, activation=leaky)
        self.d_dense = self.d.dense("d_dense", 1)
        self.layers = self.d.layers + self.g.layers

    def generate(self, z, training, acts):
        h = self.g_dense(z)
        acts.append(("act.g_dense", h))
        h = self.g_bn1(tf.reshape(h, [z.shape[0], 7, 7, self.base]), training=training)
        acts.append(("act.g_bn1", h))
        h = self.g_deconv1(h)
        acts.append(("act.g_deconv1", h))
        return self.g_deconv2(self.g_bn2(h, training=training))

    def discriminate(self, x):
        h = self.d_conv2(self.d_conv1(x))
        return self.d_dense(tf.reshape(h, [x.shape[0], -1]))

    def phases(self, t):
        def phase_d():  # G's BN in inference mode, fakes first
            fake = self.generate(t["d.z"], False, [])
            logits = self.discriminate(tf.concat([fake, t["d.real"]], 0))
            loss = mean_bce_logits(t["d.labels"], logits)
            return loss, [("fake", fake), ("logits", logits), ("prob", tf.sigmoid(logits))], []

        def phase_g():  # G's BN in training mode, D frozen
            acts = []
            fake = self.generate(t["g.z"], True, acts)
            logits = self.discriminate(fake)
            loss = mean_bce_logits(t["g.labels"], logits)
            return loss, [("fake", fake), ("logits", logits), ("prob", tf.sigmoid(logits))], acts
        return [Phase("d.", phase_d, self.d.layers, [], "d"),
                Phase("g.", phase_g, self.g.layers, [self.g_bn1, self.g_bn2], "g")]


class CelebADCGAN:
    """§11 CelebA DCGAN with every BN in training mode; widths max(1, c // k) (z stays 128) as
    CelebADCGAN(widthDivisor:) does."""
    model = "celeba_dcgan"
    inputs = ["d.z", "d.real", "g.z"]

    def __init__(self, k, dtype):
        w = lambda c: max(1, c // k)
        self.g, self.d = Net(dtype), Net(dtype)
        widths = [w(512), w(256), w(128), w(64)]
        self.g_blocks = [(self.g.deconv("g1", widths[0], 4, padding="valid", bias=False), self.g.bn("gb1"))]
        for i, c in enumerate(widths[1:], start=2):
            self.g_blocks.append((self.g.deconv(f"g{i}", c, 4, strides=2, bias=False), self.g.bn(f"gb{i}")))
        self.g5 = self.g.deconv("g5", 3, 4, strides=2)
        self.d1 = self.d.conv("d1", w(64), 4, strides=2)
        self.d_blocks = []
        for i, c in enumerate([w(128), w(256), w(512)], start=2):
            self.d_blocks.append((self.d.conv(f"d{i}", c, 4, strides=2, bias=False), self.d.bn(f"db{i}")))
        self.d5 = self.d.conv("d5", 1, 4, padding="valid")
        self.layers = self.d.layers + self.g.layers

    def bns(self):
        return [b for _, b in self.g_blocks] + [b for _, b in self.d_blocks]

    def generate(self, z, acts):
        h = z
        for conv, bn in self.g_blocks:
            h = conv(h)
            acts.append((f"act.{conv.name}", h))
            h = bn(h, training=True)
            acts.append((f"act.{bn.name}", h))
            h = tf.nn.relu(h)
        return tf.tanh(self.g5(h))

    def discriminate(self, x, acts):
        h = leaky(self.d1(x))
        for conv, bn in self.d_blocks:
            h = conv(h)
            acts.append((f"act.{conv.name}", h))
            h = bn(h, training=True)
            acts.append((f"act.{bn.name}", h))
            h = leaky(h)
        return self.d5(h)

    def phases(self, t):
        def phase_d():  # D(fake) then D(real), each with its own batch statistics
            fake = self.generate(t["d.z"], [])
            logits_fake = self.discriminate(fake, [])
            logits_real = self.discriminate(t["d.real"], [])
            loss = tf.reduce_mean(sce(labels=tf.zeros_like(logits_fake), logits=logits_fake)
                                  + sce(labels=tf.ones_like(logits_real), logits=logits_real))
            return loss, [("fake", fake), ("logits_fake", logits_fake), ("logits_real", logits_real)], []

        def phase_g():
            acts_g, acts_d = [], []
            fake = self.generate(t["g.z"], acts_g)
            logits_fake = self.discriminate(fake, acts_d)
            loss = mean_bce_logits(tf.ones_like(logits_fake), logits_fake)
            # The stored activations: G's first two blocks, D's last two.
            acts = acts_g[:4] + acts_d[2:]
            return loss, [("fake", fake), ("logits_fake", logits_fake)], acts
        return [Phase("d.", phase_d, self.d.layers, self.bns(), "d"),
                Phase("g.", phase_g, self.g.layers, self.bns(), "g")]


MODELS = {m.model: m for m in (Autoencoder, VAE, DCGAN, CelebADCGAN)}
