import Foundation
import Sinter

/// The ONNX backend node tests read straight out of the onnx wheel with Sinter's zip reader:
/// `onnx/backend/test/data/node/<test>/model.onnx` and `test_data_set_0/{input,output}_K.pb`
/// (TensorProto files). Cases are imported, merged into a few graphs (one C compile per batch),
/// run, and compared with the expected outputs.
enum ONNXNodeSuite {
    struct Case {
        var name: String
        var model: ONNXModel
        var inputs: [ONNXConstant]
        var outputs: [ONNXConstant]
        /// The operator the case is counted under.
        var category: String
        /// Why the test data could not be read, if it could not.
        var dataError: String? = nil
    }

    enum Outcome: Equatable {
        case passed
        case failed(String)
        case skipped(String)
    }

    static let prefix = "onnx/backend/test/data/node/"

    /// Every node test whose nodes all use supported operators; `unsupported` counts the others.
    static func load(wheel: String) throws -> (cases: [Case], unsupported: Int) {
        let archive = try ZipArchive(path: wheel)
        var byTest: [String: [String: ZipArchive.Entry]] = [:]
        for entry in archive.entries where entry.name.hasPrefix(prefix) {
            let rest = entry.name.dropFirst(prefix.count)
            guard let slash = rest.firstIndex(of: "/") else { continue }
            byTest[String(rest[..<slash]), default: [:]][String(rest[rest.index(after: slash)...])] = entry
        }
        let supported = Set(ONNXOperators.supported)
        var cases: [Case] = []
        var unsupported = 0
        for test in byTest.keys.sorted() {
            let files = byTest[test]!
            guard let modelEntry = files["model.onnx"] else { continue }
            let path = "\(wheel)!\(modelEntry.name)"
            let model = try ONNXProtoDecoder.decodeModel(archive.read(modelEntry), path: path)
            let opTypes = model.graph.nodes.map(\.opType)
            guard !opTypes.isEmpty, opTypes.allSatisfy(supported.contains), model.graph.nodes.allSatisfy({ $0.domain.isEmpty || $0.domain == "ai.onnx" }) else {
                unsupported += 1
                continue
            }
            func tensors(_ kind: String) throws -> [ONNXConstant] {
                var result: [ONNXConstant] = []
                while let entry = files["test_data_set_0/\(kind)_\(result.count).pb"] {
                    let proto = try ONNXProtoDecoder.decodeTensor(archive.read(entry), path: "\(wheel)!\(entry.name)")
                    result.append(try ONNXConstant(proto, what: "\(kind) \(result.count)", path: "\(wheel)!\(entry.name)"))
                }
                return result
            }
            let inputs: [ONNXConstant], outputs: [ONNXConstant]
            do {
                inputs = try tensors("input")
                outputs = try tensors("output")
            } catch {
                // Test data in a type Sinter does not decode (float8, int4, strings): still listed.
                let why = (error as? SinterError).map { if case let .file(_, m) = $0 { return m } else { return "\($0)" } } ?? "\(error)"
                cases.append(Case(name: test, model: model, inputs: [], outputs: [], category: category(test, opTypes), dataError: "test data: \(why)"))
                continue
            }
            cases.append(Case(name: test, model: model, inputs: inputs, outputs: outputs, category: category(test, opTypes)))
        }
        return (cases, unsupported)
    }

    /// A single-node test counts under its op; an expanded (function body) test under the op
    /// its name starts with, else its first op.
    static func category(_ test: String, _ opTypes: [String]) -> String {
        if Set(opTypes).count == 1 { return opTypes[0] }
        let flat = test.dropFirst(5).replacingOccurrences(of: "_", with: "").lowercased()
        return Set(opTypes).sorted { $0.count > $1.count }.first { flat.hasPrefix($0.lowercased()) } ?? "(expanded functions)"
    }

    /// The imported graph of one case, or why it cannot be imported. Non-float inputs are
    /// frozen (their values become constants, as shape and index tensors must be); if the
    /// importer still needs a constant, every input but the first is frozen, and then every
    /// input (Range: the whole node folds).
    static func importCase(_ c: Case) -> Result<(ONNXImport, [String: HostTensor]), SinterError> {
        if let why = c.dataError { return .failure(.runtime(message: why)) }
        let names = c.model.graph.inputs.map(\.name).filter { name in !c.model.graph.initializers.contains { $0.name == name } }
        guard names.count == c.inputs.count, c.model.graph.outputs.count == c.outputs.count, !c.outputs.isEmpty else {
            return .failure(.runtime(message: "test data in a type Sinter does not read (or missing)"))
        }
        func attempt(_ frozen: (Int) -> Bool) -> Result<(ONNXImport, [String: HostTensor]), SinterError> {
            var options = ONNXImportOptions()
            var feeds: [String: HostTensor] = [:]
            for (k, name) in names.enumerated() {
                if frozen(k) { options.frozenInputs[name] = c.inputs[k] }
            }
            do {
                let imported = try ONNXImporter(model: c.model, path: c.name, options: options).run()
                for (k, name) in names.enumerated() where !frozen(k) {
                    guard let id = imported.graph.source(named: name) else { continue }
                    feeds[name] = try c.inputs[k].hostTensor().converted(to: imported.graph[id].type.dtype)
                }
                return .success((imported, feeds))
            } catch let error as SinterError {
                return .failure(error)
            } catch {
                return .failure(.runtime(message: "\(error)"))
            }
        }
        let first = attempt { !c.inputs[$0].type.isFloat }
        if case let .failure(error) = first, "\(error)".contains("Sinter needs it as a constant") {
            let second = attempt { $0 > 0 || !c.inputs[$0].type.isFloat }
            if case .success = second { return second }
            if case let .failure(again) = second, "\(again)".contains("Sinter needs it as a constant") {
                let third = attempt { _ in true }
                if case .success = third { return third }
            }
        }
        return first
    }

    /// Runs imported cases, `batchSize` to a compiled graph; a batch that fails to compile or
    /// run is retried case by case so the failure lands on the case that caused it.
    static func run(_ cases: [Case], batchSize: Int = 48) -> [String: Outcome] {
        var outcomes: [String: Outcome] = [:]
        var ready: [(Case, ONNXImport, [String: HostTensor])] = []
        for c in cases {
            switch importCase(c) {
            case let .success((imported, feeds)): ready.append((c, imported, feeds))
            case let .failure(error): outcomes[c.name] = .skipped(reason(error))
            }
        }
        var start = 0
        while start < ready.count {
            let batch = Array(ready[start..<min(start + batchSize, ready.count)])
            start += batchSize
            if let results = try? runMerged(batch) {
                for (k, item) in batch.enumerated() { outcomes[item.0.name] = compare(item.0, item.1, results, prefix: "c\(k).") }
            } else {
                for item in batch {
                    do {
                        outcomes[item.0.name] = compare(item.0, item.1, try runMerged([item]), prefix: "c0.")
                    } catch {
                        outcomes[item.0.name] = .failed("compile/run: \(error)")
                    }
                }
            }
        }
        return outcomes
    }

    /// One graph holding every case's nodes, sources and outputs renamed `c<k>.<name>`.
    static func runMerged(_ batch: [(Case, ONNXImport, [String: HostTensor])]) throws -> [String: HostTensor] {
        let merged = Graph(name: "onnx_node_tests")
        var feeds: [String: HostTensor] = [:], weights: [String: HostTensor] = [:]
        for (k, (_, imported, caseFeeds)) in batch.enumerated() {
            let p = "c\(k)."
            var map: [Int] = []
            for node in imported.graph.nodes {
                var attrs = node.attrs
                if let name = node.sourceName { attrs["name"] = .string(p + name) }
                map.append(try merged.add(node.op, node.operands.map { map[$0] }, attrs, type: node.type, at: node.location))
            }
            for (name, node) in imported.graph.outputs { try merged.addOutput(p + name, map[node]) }
            for (name, value) in caseFeeds { feeds[p + name] = value }
            for (name, value) in imported.weights { weights[p + name] = value }
        }
        try merged.verify()
        let executable = try compileGraph(merged)
        try executable.loadPersistent(weights, requireAll: true)
        return try executable.run(feeds)
    }

    /// Within ONNX's backend-test tolerance (rtol 1e-3, atol 1e-7), loosened to 1e-5 absolute
    /// for float32 rounding differences around zero.
    static func compare(_ c: Case, _ imported: ONNXImport, _ results: [String: HostTensor], prefix: String) -> Outcome {
        for (k, output) in c.model.graph.outputs.enumerated() {
            guard let got = results[prefix + output.name] else { return .failed("no output '\(output.name)'") }
            let want = c.outputs[k]
            guard got.shape == want.shape else { return .failed("output '\(output.name)' has shape \(got.shape), expected \(want.shape)") }
            let values = got.doubles
            for (i, (a, b)) in zip(values, want.values).enumerated() {
                if a.isNaN && b.isNaN { continue }
                if a == b { continue }
                guard abs(a - b) <= 1e-5 + 1e-3 * abs(b) else {
                    return .failed("output '\(output.name)' element \(i): \(a), expected \(b)")
                }
            }
        }
        return .passed
    }

    /// An import error without the file part: `node 0 'x' (Op, opset N): why` -> `why`.
    static func reason(_ error: SinterError) -> String {
        var text = "\(error)"
        if case let .file(_, message) = error { text = message }
        if case let .runtime(message) = error { text = message }
        if let range = text.range(of: "): ") , text.hasPrefix("node ") { text = String(text[range.upperBound...]) }
        return text
    }
}
