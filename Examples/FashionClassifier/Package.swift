// swift-tools-version:6.0
// A Fashion-MNIST classifier trained with Sinter, taken from the repository this
// folder sits in (two folders up). `swift run -c release` here trains it.
//
// `name: "Sinter"`: SwiftPM names a path dependency after its folder, which is whatever the clone
// is called (`sinter`, `main`, ...); the name makes `package: "Sinter"` below find it in any clone.
import PackageDescription

let package = Package(
    name: "FashionClassifier",
    dependencies: [
        .package(name: "Sinter", path: "../.."),
    ],
    targets: [
        .executableTarget(name: "FashionClassifier", dependencies: [
            .product(name: "Sinter", package: "Sinter"),
        ]),
    ],
    swiftLanguageModes: [.v5]
)
