import Foundation
import PackagePlugin

/// Embeds every header of Codegen/ into the target as `EmbeddedCodegen.files`.
@main
struct EmbedCodegenPlugin: BuildToolPlugin {
    func createBuildCommands(context: PluginContext, target: Target) throws -> [Command] {
        let codegen = context.package.directoryURL.appendingPathComponent("Codegen")
        let headers = try FileManager.default.contentsOfDirectory(atPath: codegen.path)
            .filter { $0.hasSuffix(".h") }
            .sorted()
            .map { codegen.appendingPathComponent($0) }
        let output = context.pluginWorkDirectoryURL.appendingPathComponent("EmbeddedCodegen.swift")
        return [.buildCommand(
            displayName: "Embedding Codegen/ headers",
            executable: try context.tool(named: "EmbedCodegenTool").url,
            arguments: [output.path] + headers.map(\.path),
            inputFiles: headers,
            outputFiles: [output]
        )]
    }
}
