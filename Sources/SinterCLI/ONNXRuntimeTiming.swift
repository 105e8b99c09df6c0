import Foundation
import Sinter

/// `sinter bench MODEL.onnx --onnxruntime`: onnxruntime (PyPI `onnxruntime`, run by python3,
/// two intra-op threads, all graph optimisations) timed on the very inputs Sinter was timed on,
/// in the same run. The inputs go to python through a temporary safetensors file.
enum ONNXRuntimeTiming {
    static let script = """
        import json, struct, sys, time
        import numpy as np
        import onnxruntime as ort
        model, path, steps, warmup = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
        data = open(path, 'rb').read()
        n = struct.unpack('<Q', data[:8])[0]
        header = json.loads(data[8:8 + n])
        types = {'F32': np.float32, 'F64': np.float64, 'I32': np.int32}
        feeds = {}
        for name, entry in header.items():
            if name == '__metadata__': continue
            begin, end = entry['data_offsets']
            feeds[name] = np.frombuffer(data[8 + n + begin:8 + n + end], dtype=types[entry['dtype']]).reshape(entry['shape'])
        options = ort.SessionOptions()
        options.intra_op_num_threads = 2
        options.inter_op_num_threads = 1
        session = ort.InferenceSession(model, options, providers=['CPUExecutionProvider'])
        feeds = {i.name: feeds[i.name] for i in session.get_inputs()}
        for _ in range(warmup): session.run(None, feeds)
        times = []
        for _ in range(steps):
            start = time.perf_counter()
            session.run(None, feeds)
            times.append((time.perf_counter() - start) * 1000)
        times.sort()
        print(times[len(times) // 2])
        """

    /// The median milliseconds of one onnxruntime run.
    static func median(model: String, inputs: [String: HostTensor], steps: Int, warmup: Int) throws -> Double {
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("sinter-ort-\(UUID().uuidString).safetensors").path
        defer { try? FileManager.default.removeItem(atPath: file) }
        try Safetensors.write(inputs, to: file)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", "-c", script, model, file, String(steps), String(max(warmup, 1))]
        let out = Pipe(), err = Pipe()
        process.standardOutput = out
        process.standardError = err
        try process.run()
        let output = out.fileHandleForReading.readDataToEndOfFile()
        let errors = err.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        let text = String(decoding: output, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        guard process.terminationStatus == 0, let value = Double(text) else {
            let last = String(decoding: errors, as: UTF8.self).split(separator: "\n").last.map(String.init) ?? "no output"
            throw SinterError.runtime(message: "--onnxruntime: python3 with onnxruntime failed (\(last)); install it with `pip install onnxruntime`")
        }
        return value
    }
}
