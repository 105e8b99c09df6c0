// swift-tools-version:6.0
// Sinter: a deep-learning compiler. Module order (each depends only on those before it):
//   SinterIR <- SinterAutodiff <- SinterDSL        (graph building)
//   SinterIR <- SinterPasses <- SinterCodegen <- SinterRuntime   (compiling and running)
//   SinterIR <- SinterIO <- SinterTorch   (reading torch.save checkpoints; no PyTorch needed)
//   SinterIR <- SinterIO <- SinterONNX    (importing ONNX models; a hand-written protobuf reader)
//   Sinter (umbrella: DSL + runtime) <- SinterModels (Graphs/) <- sinter (CLI)
import PackageDescription

let package = Package(
    name: "Sinter",
    products: [
        .library(name: "Sinter", targets: ["Sinter"]),
        .executable(name: "sinter", targets: ["SinterCLI"]),
        .executable(name: "sinter-fuzz", targets: ["SinterFuzz"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
    ],
    targets: [
        // System C libraries (Debian: libpng-dev, libzstd-dev, zlib1g-dev).
        .systemLibrary(name: "CPNG", providers: [.apt(["libpng-dev"])]),
        .systemLibrary(name: "CZstd", providers: [.apt(["libzstd-dev"])]),
        .systemLibrary(name: "CZlib", providers: [.apt(["zlib1g-dev"])]),

        // The hand-written C that generated code includes. Compiled here so `swift build`
        // checks it, and embedded as text into SinterCodegen by the EmbedCodegen plugin.
        .target(name: "SinterCodegenC", path: "Codegen", publicHeadersPath: "public"),
        .executableTarget(name: "EmbedCodegenTool", path: "Sources/EmbedCodegenTool"),
        .plugin(name: "EmbedCodegenPlugin", capability: .buildTool(),
                dependencies: ["EmbedCodegenTool"], path: "Sources/EmbedCodegenPlugin"),

        .target(name: "SinterIR"),
        .target(name: "SinterAutodiff", dependencies: ["SinterIR"]),
        .target(name: "SinterDSL", dependencies: ["SinterIR", "SinterAutodiff"]),
        .target(name: "SinterPasses", dependencies: ["SinterIR"]),
        .target(name: "SinterIO", dependencies: ["SinterIR", "CPNG", "CZstd", "CZlib"]),
        .target(name: "SinterTorch", dependencies: ["SinterIR", "SinterIO"]),
        .target(name: "SinterONNX", dependencies: ["SinterIR", "SinterIO"]),
        .target(name: "SinterCodegen", dependencies: ["SinterIR", "SinterPasses", "SinterCodegenC"],
                plugins: ["EmbedCodegenPlugin"]),
        .target(name: "SinterRuntime", dependencies: ["SinterIR", "SinterCodegen", "SinterIO"]),
        .target(name: "Sinter", dependencies: ["SinterIR", "SinterAutodiff", "SinterDSL", "SinterPasses",
                                               "SinterCodegen", "SinterRuntime", "SinterIO", "SinterTorch", "SinterONNX"]),
        .target(name: "SinterModels", dependencies: ["Sinter"], path: "Graphs",
                exclude: ["dumps"], resources: [.copy("Data")]),
        .executableTarget(name: "SinterCLI", dependencies: [
            "Sinter", "SinterModels",
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
        ]),
        // The short training protocols against TensorFlow's quality numbers: minutes of training,
        // so a program (`swift run sinter-quality`, run by .ci/run) rather than part of `swift test`.
        .executableTarget(name: "sinter-quality", dependencies: ["Sinter", "SinterModels"], path: "Tests/QualityProtocols"),
        // The mutation fuzzer shared by the fuzz tests and `sinter-fuzz` (long runs).
        .target(name: "SinterFuzzing", dependencies: ["Sinter"]),
        .executableTarget(name: "SinterFuzz", dependencies: ["SinterFuzzing"]),
        // Fixtures (Golden/, Data/) are read in place, found from the package root
        // (Tests/SinterTests/Support/Fixtures.swift), not copied into a bundle.
        .testTarget(name: "SinterTests", dependencies: ["Sinter", "SinterModels", "SinterFuzzing"],
                    exclude: ["Golden", "Data"]),
    ],
    swiftLanguageModes: [.v5]
)
