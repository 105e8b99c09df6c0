// swift-tools-version:6.0
// A variational autoencoder with a residual layer of its own, trained with Sinter, taken from
// the repository this folder sits in (two folders up). `swift run -c release` here trains it.
//
// `name: "Sinter"`: SwiftPM names a path dependency after its folder, which is whatever the clone
// is called (`sinter`, `main`, ...); the name makes `package: "Sinter"` below find it in any clone.
import PackageDescription

let package = Package(
    name: "ResidualVAE",
    dependencies: [
        .package(name: "Sinter", path: "../.."),
    ],
    targets: [
        .executableTarget(name: "ResidualVAE", dependencies: [
            .product(name: "Sinter", package: "Sinter"),
        ]),
    ],
    swiftLanguageModes: [.v5]
)
