import Sinter

/// The small convnet of the Keras tutorials: two Conv-ReLU-MaxPool blocks, then one Dense layer
/// giving the 10 class logits (the softmax is in the loss, `fromLogits: true`). 34,826 parameters.
///
/// Keras's Conv2D pads "valid" by default and Sinter's pads "same", so the padding is spelled out:
/// this is the model `keras_reference.py` builds, layer for layer (28 -> 26 -> 13 -> 11 -> 5).
struct FashionCNN: Model {
    let conv1 = Conv2D(32, kernel: 3, padding: .valid, activation: .relu)
    let conv2 = Conv2D(64, kernel: 3, padding: .valid, activation: .relu)
    let logits = Dense(10)

    func callAsFunction(_ x: Tensor) -> Tensor {
        let block1 = maxPool(conv1(x), 2)
        let block2 = maxPool(conv2(block1), 2)
        return logits(block2.flattened())
    }
}

/// Fashion-MNIST's ten classes, in label order.
let classNames = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"]
