import Foundation
import SinterCodegen
import SinterIR
import SinterRuntime
import XCTest

/// The runtime on hand-written C programs (independent of the emitter): compiler discovery and
/// errors, the kernel cache, loading, running, persistent state and parameter initialisation.
final class RuntimeTests: XCTestCase {
    var tempDir: URL!

    override func setUpWithError() throws {
        tempDir = FileManager.default.temporaryDirectory.appendingPathComponent("sinter-rt-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: tempDir, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws {
        try? FileManager.default.removeItem(at: tempDir)
    }

    /// The process environment without any SINTER_* setting (so the developer's shell cannot change
    /// the outcome), with the cache in this test's directory, plus `extra`.
    func environment(_ extra: [String: String] = [:]) -> [String: String] {
        var env = ProcessInfo.processInfo.environment.filter { !$0.key.hasPrefix("SINTER_") }
        env["XDG_CACHE_HOME"] = tempDir.path
        env.merge(extra) { _, new in new }
        return env
    }

    func cache(_ extra: [String: String] = [:]) throws -> KernelCache {
        try KernelCache(environment: environment(extra))
    }

    // MARK: - Hand-written programs

    /// y = x + SCALE * b (b broadcast over rows); a persistent i32 counter incremented per run and
    /// copied to `steps`. Uses a header from `headers` to check the include path.
    func addProgram(scale: String = "1.0f") -> CProgram {
        let source = """
            #include <stdint.h>
            #include "test_helpers.h"
            int sinter_abi_version(void) { return 1; }
            void sinter_entry(uint8_t *arena, uint8_t *params, void *const *io) {
                (void)arena;
                const float *x = (const float *)io[0];
                float *y = (float *)io[1];
                int32_t *steps = (int32_t *)io[2];
                const float *b = (const float *)(params + 0);
                int32_t *counter = (int32_t *)(params + 64);
                for (int i = 0; i < 2; i++)
                    for (int j = 0; j < 3; j++) y[i * 3 + j] = x[i * 3 + j] + SCALE * b[j];
                *counter += 1;
                *steps = *counter;
            }
            """
        return CProgram(
            source: source, headers: ["test_helpers.h": "#define SCALE \(scale)\n"],
            arenaBytes: 0, paramBlockBytes: 128,
            persistent: [
                .init(name: "b", type: TensorType(.f32, [3]), offset: 0, initializer: "ones", trainable: true),
                .init(name: "counter", type: TensorType(.i32, []), offset: 64, initializer: "zeros"),
            ],
            inputs: [.init(name: "x", type: TensorType(.f32, [2, 3]))],
            outputs: [.init(name: "y", type: TensorType(.f32, [2, 3])), .init(name: "steps", type: TensorType(.i32, []))])
    }

    /// Uses the arena as scratch: squares of x into the arena, then out = their sum (f64).
    func arenaProgram() -> CProgram {
        let source = """
            #include <stdint.h>
            int sinter_abi_version(void) { return 1; }
            void sinter_entry(uint8_t *arena, uint8_t *params, void *const *io) {
                (void)params;
                const double *x = (const double *)io[0];
                double *out = (double *)io[1];
                double *tmp = (double *)arena;
                for (int i = 0; i < 1000; i++) tmp[i] = x[i] * x[i];
                double s = 0;
                for (int i = 0; i < 1000; i++) s += tmp[i];
                out[0] = s;
            }
            """
        return CProgram(source: source, headers: [:], arenaBytes: 8000, paramBlockBytes: 0, persistent: [],
                        inputs: [.init(name: "x", type: TensorType(.f64, [1000]))],
                        outputs: [.init(name: "sum", type: TensorType(.f64, []))])
    }

    /// A do-nothing kernel carrying the given persistent slots (laid out 64-byte aligned in order).
    func paramsProgram(_ slots: [(String, TensorType, String?)]) -> CProgram {
        var offset = 0
        var persistent: [CProgram.Slot] = []
        for (name, type, initializer) in slots {
            persistent.append(.init(name: name, type: type, offset: offset, initializer: initializer, trainable: true))
            offset += (type.byteSize + 63) / 64 * 64
        }
        let source = """
            #include <stdint.h>
            int sinter_abi_version(void) { return 1; }
            void sinter_entry(uint8_t *arena, uint8_t *params, void *const *io) { (void)arena; (void)params; (void)io; }
            """
        return CProgram(source: source, headers: [:], arenaBytes: 0, paramBlockBytes: offset,
                        persistent: persistent, inputs: [], outputs: [])
    }

    // MARK: - SHA-256

    func testSHA256KnownVectors() {
        XCTAssertEqual(SHA256.hex(""), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
        XCTAssertEqual(SHA256.hex("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        XCTAssertEqual(SHA256.hex("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq"),
                       "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1")
        XCTAssertEqual(SHA256.hex("abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmnhijklmnoijklmnopjklmnopqklmnopqrlmnopqrsmnopqrstnopqrstu"),
                       "cf5b16a778af8380036ce59e7b0492370b249b11e8f07a51afac45037afee9d1")
        XCTAssertEqual(SHA256.hex([UInt8](repeating: UInt8(ascii: "a"), count: 1_000_000)),
                       "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0")
        // Lengths around the padding boundary (55, 56, 64 bytes), cross-checked with sha256sum.
        XCTAssertEqual(SHA256.hex(String(repeating: "a", count: 55)), "9f4390f8d30c2dd92ec9f095b65e2b9ae9b0a925a5258e241c9f1e910f734318")
        XCTAssertEqual(SHA256.hex(String(repeating: "a", count: 56)), "b35439a4ac6f0948b6d6f9e3c6af0f5f590ce20f1bde7090ef7970686ec6738a")
        XCTAssertEqual(SHA256.hex(String(repeating: "a", count: 64)), "ffe054fe7ae0cb6dc65c3af9b61d5209f439851db43d0ba5997337df154668eb")
    }

    func testSHA256IncrementalMatchesOneShot() {
        let data = (0..<1000).map { UInt8(truncatingIfNeeded: $0 &* 7 &+ 3) }
        let expected = SHA256.hex(data)
        for chunk in [1, 3, 63, 64, 65, 200] {
            var hasher = SHA256()
            var index = 0
            while index < data.count {
                hasher.update(data[index..<min(index + chunk, data.count)])
                index += chunk
            }
            XCTAssertEqual(SHA256.hexDigest(hasher.finalize()), expected, "chunk size \(chunk)")
        }
    }

    // MARK: - Compile, run, cache

    func testCompileRunAndCacheHit() throws {
        let cache = try cache()
        let program = addProgram()
        let executable = try Runtime.compile(program, cache: cache)
        XCTAssertFalse(executable.report.cacheHit)
        try executable.initializeParameters(seed: 1)
        let x = HostTensor(shape: [2, 3], floats: [1, 2, 3, 4, 5, 6])
        var result = try executable.run(["x": x])
        XCTAssertEqual(result["y"]?.floats, [2, 3, 4, 5, 6, 7])
        XCTAssertEqual(result["steps"]?.storage, .i32)
        XCTAssertEqual(result["steps"]?.doubles, [1])
        XCTAssertThrowsError(try executable.run(["x": x, "xx": x])) { error in  // a misspelt feed is refused
            XCTAssertEqual("\(error)", "runtime error: unknown input 'xx' (did you mean 'x'?); the program takes: 'x' (f32[2,3])")
        }
        result = try executable.run(["x": x])
        XCTAssertEqual(result["steps"]?.doubles, [2], "persistent state survives across runs")
        XCTAssertEqual(try executable.persistent("counter").doubles, [2])

        // Entry layout.
        let report = executable.report
        let dir = URL(fileURLWithPath: report.directory)
        XCTAssertEqual(dir.path, tempDir.appendingPathComponent("sinter/\(report.key.prefix(2))/\(report.key)").path)
        for file in ["kernel.c", "include/test_helpers.h", "kernel.so", "command.txt", "key.txt"] {
            XCTAssertTrue(FileManager.default.fileExists(atPath: dir.appendingPathComponent(file).path), file)
        }
        let keyText = try String(contentsOf: dir.appendingPathComponent("key.txt"), encoding: .utf8)
        XCTAssertEqual(SHA256.hex(keyText), report.key, "key.txt is exactly what was hashed")
        XCTAssertTrue(keyText.contains("abi: 1"))
        XCTAssertTrue(keyText.contains(cache.compiler.versionLine))
        XCTAssertTrue(keyText.contains("test_helpers.h"))
        let command = try String(contentsOf: dir.appendingPathComponent("command.txt"), encoding: .utf8)
        XCTAssertEqual(command, report.command + "\n")
        XCTAssertTrue(report.command.contains("-fPIC") && report.command.contains("-shared") && report.command.contains("-O3"))
        XCTAssertFalse(report.command.contains("fast-math"))
        XCTAssertEqual(report.libraryPath, dir.appendingPathComponent("kernel.so").path)

        // Same cache object, then a fresh one (as a new process would build): both hit.
        let again = try cache.compile(program)
        XCTAssertTrue(again.cacheHit)
        XCTAssertEqual(again.key, report.key)
        XCTAssertEqual(again.libraryPath, report.libraryPath)
        let fresh = try Runtime.compile(program, cache: try KernelCache(environment: environment()))
        XCTAssertTrue(fresh.report.cacheHit)
        try fresh.initializeParameters(seed: 1)
        XCTAssertEqual(try fresh.run(["x": x])["y"]?.floats, [2, 3, 4, 5, 6, 7])

        // The OpenMP probe answer was remembered on disk for the next process.
        let probes = try FileManager.default.contentsOfDirectory(atPath: tempDir.appendingPathComponent("sinter/probes").path)
        XCTAssertEqual(probes.filter { $0.hasPrefix("openmp-") }.count, 1)
    }

    func testKeyDependsOnSourceHeadersAndFlags() throws {
        let cache = try cache()
        let base = cache.key(for: addProgram())
        XCTAssertEqual(base, cache.key(for: addProgram()))
        XCTAssertNotEqual(base, cache.key(for: addProgram(scale: "2.0f")), "header content is part of the key")
        var other = addProgram()
        other.source += "\n"
        XCTAssertNotEqual(base, cache.key(for: other), "source is part of the key")
        let custom = try KernelCache(environment: environment(["SINTER_CFLAGS": "-O1"]))
        XCTAssertNotEqual(base, custom.key(for: addProgram()), "flags are part of the key")
    }

    func testArenaProgram() throws {
        let executable = try Runtime.compile(arenaProgram(), cache: try cache())
        let values = (0..<1000).map { Double($0) / 100 }
        let result = try executable.run(["x": HostTensor(shape: [1000], doubles: values)])
        XCTAssertEqual(result["sum"]!.doubles[0], values.map { $0 * $0 }.reduce(0, +), accuracy: 1e-9)
        XCTAssertEqual(result["sum"]!.storage, .f64)
        XCTAssertEqual(result["sum"]!.shape, [])
    }

    func testInputDTypeIsConverted() throws {
        let executable = try Runtime.compile(addProgram(), cache: try cache())
        try executable.initializeParameters(seed: 0)
        let x = HostTensor(shape: [2, 3], doubles: [1, 2, 3, 4, 5, 6])
        XCTAssertEqual(try executable.run(["x": x])["y"]?.floats, [2, 3, 4, 5, 6, 7])
    }

    func testRawPointerRun() throws {
        let executable = try Runtime.compile(addProgram(), cache: try cache())
        try executable.setPersistent("b", HostTensor(shape: [3], floats: [10, 20, 30]))
        let x: [Float] = [1, 2, 3, 4, 5, 6]
        var y = [Float](repeating: 0, count: 6)
        var steps: Int32 = 0
        try x.withUnsafeBytes { xp in
            try y.withUnsafeMutableBytes { yp in
                try withUnsafeMutableBytes(of: &steps) { sp in
                    try executable.run(inputPointers: [xp.baseAddress!], outputPointers: [yp.baseAddress!, sp.baseAddress!])
                }
            }
        }
        XCTAssertEqual(y, [11, 22, 33, 14, 25, 36])
        XCTAssertEqual(steps, 1)
        XCTAssertThrowsError(try executable.run(inputPointers: [], outputPointers: []))
        // The dictionary form still works afterwards (io points back at the staging buffers).
        XCTAssertEqual(try executable.run(["x": HostTensor(shape: [2, 3], floats: x)])["y"]?.floats, [11, 22, 33, 14, 25, 36])
    }

    func testNoCacheForcesMiss() throws {
        let cache = try cache(["SINTER_NO_CACHE": "1"])
        XCTAssertFalse(cache.cachingEnabled)
        let first = try cache.compile(addProgram())
        let second = try cache.compile(addProgram())
        XCTAssertFalse(first.cacheHit)
        XCTAssertFalse(second.cacheHit)
        XCTAssertNotEqual(first.directory, second.directory)
        XCTAssertEqual(first.key, second.key)
        XCTAssertFalse(FileManager.default.fileExists(atPath: cache.entryDirectory(forKey: first.key).path),
                       "nothing is published to the cache")
        let executable = try Executable(program: addProgram(), report: second)
        XCTAssertEqual(try executable.run(["x": HostTensor(shape: [2, 3], floats: [0, 0, 0, 0, 0, 0])])["y"]?.floats, [0, 0, 0, 0, 0, 0])
        for report in [first, second] { try? FileManager.default.removeItem(atPath: report.directory) }
    }

    func testConcurrentCompilesOfOneProgramAgree() throws {
        let env = environment()
        let program = addProgram(scale: "3.0f")
        let lock = NSLock()
        var reports: [CompileReport] = []
        var errors: [Error] = []
        DispatchQueue.concurrentPerform(iterations: 4) { _ in
            do {
                let report = try KernelCache(environment: env).compile(program)
                lock.lock(); reports.append(report); lock.unlock()
            } catch {
                lock.lock(); errors.append(error); lock.unlock()
            }
        }
        XCTAssertTrue(errors.isEmpty, "\(errors)")
        XCTAssertEqual(Set(reports.map(\.libraryPath)).count, 1)
        let leftovers = try FileManager.default.contentsOfDirectory(atPath: tempDir.appendingPathComponent("sinter").path)
            .filter { $0.hasPrefix("tmp-") }
        XCTAssertEqual(leftovers, [], "losing builds are discarded")
        let executable = try Executable(program: program, report: reports[0])
        try executable.initializeParameters(seed: 0)
        XCTAssertEqual(try executable.run(["x": HostTensor(shape: [2, 3], floats: [0, 0, 0, 0, 0, 0])])["y"]?.floats, [3, 3, 3, 3, 3, 3])
    }

    // MARK: - Compiler errors

    func testSyntaxErrorReportsCommandOutputAndSource() throws {
        var program = addProgram()
        program.source = "int sinter_abi_version(void) { return 1 }\nvoid sinter_entry(void) { undeclared_thing(); }\n"
        let cache = try cache()
        XCTAssertThrowsError(try cache.compile(program)) { error in
            guard case let SinterError.compile(message) = error else { return XCTFail("\(error)") }
            XCTAssertTrue(message.contains(cache.compiler.path), message)
            XCTAssertTrue(message.contains("-shared") && message.contains("kernel.c"), message)
            XCTAssertTrue(message.contains("error"), message)  // the compiler's own diagnostic
            XCTAssertTrue(message.contains("expected"), message)  // gcc and clang both say "expected ';'"
            let kept = message.split(separator: "\n").first { $0.hasPrefix("generated source kept at: ") }
            let path = kept.map { String($0.dropFirst("generated source kept at: ".count)) }
            XCTAssertNotNil(path, message)
            if let path {
                XCTAssertTrue(path.hasSuffix("kernel.c"))
                XCTAssertEqual(try? String(contentsOfFile: path, encoding: .utf8), program.source)
            }
        }
        // A failure publishes nothing under the key.
        XCTAssertFalse(FileManager.default.fileExists(atPath: cache.entryDirectory(forKey: cache.key(for: program)).path))
    }

    func testNonexistentCompilerIsAClearError() {
        XCTAssertThrowsError(try cache(["SINTER_CC": "/nonexistent"])) { error in
            guard case let SinterError.compile(message) = error else { return XCTFail("\(error)") }
            XCTAssertTrue(message.contains("/nonexistent"), message)
            XCTAssertTrue(message.contains("SINTER_CC"), message)
            XCTAssertTrue(message.contains("cannot be run"), message)
        }
        XCTAssertThrowsError(try cache(["SINTER_CC": "no-such-compiler-xyz"])) { error in
            XCTAssertTrue("\(error)".contains("no-such-compiler-xyz"), "\(error)")
        }
    }

    func testCompilerThatFailsVersionIsRejected() throws {
        guard FileManager.default.isExecutableFile(atPath: "/bin/false") else { throw XCTSkip("no /bin/false") }
        XCTAssertThrowsError(try cache(["SINTER_CC": "/bin/false"])) { error in
            XCTAssertTrue("\(error)".contains("/bin/false"), "\(error)")
            XCTAssertTrue("\(error)".contains("cannot be run"), "\(error)")
        }
    }

    func testCFlagsReplaceOnlyOptimisationFlags() throws {
        let cache = try cache(["SINTER_CFLAGS": "-O1  -g"])
        XCTAssertEqual(cache.compiler.optimizationFlags, ["-O1", "-g"])
        XCTAssertFalse(cache.compiler.flags.contains("-O3"))
        XCTAssertFalse(cache.compiler.flags.contains("-march=native"))
        for required in ["-fPIC", "-shared", "-std=c11", "-fno-strict-aliasing"] {
            XCTAssertTrue(cache.compiler.flags.contains(required), required)
        }
        let executable = try Runtime.compile(addProgram(), cache: cache)
        XCTAssertTrue(executable.report.command.contains("-O1 -g"))
        XCTAssertTrue(executable.report.command.contains("-I include"))
    }

    func testExplicitCompilerByName() throws {
        // Whatever the default resolves to, naming it explicitly resolves to the same file.
        let byDefault = try CCompiler(environment: environment())
        let name = URL(fileURLWithPath: byDefault.path).lastPathComponent
        let byName = try CCompiler(environment: environment(["SINTER_CC": name]))
        XCTAssertEqual(byName.versionLine, byDefault.versionLine)
    }

    func testLibraryWithWrongABIVersionIsRejected() throws {
        var program = addProgram()
        program.source = program.source.replacingOccurrences(of: "return 1;", with: "return 2;")
        XCTAssertThrowsError(try Runtime.compile(program, cache: try cache())) { error in
            XCTAssertTrue("\(error)".contains("ABI version 2"), "\(error)")
        }
        program.source = "void sinter_entry(void) {}\n"
        XCTAssertThrowsError(try Runtime.compile(program, cache: try cache())) { error in
            XCTAssertTrue("\(error)".contains("sinter_abi_version"), "\(error)")
        }
    }

    func testInconsistentLayoutIsRejected() throws {
        var program = addProgram()
        program.paramBlockBytes = 64  // counter at offset 64 no longer fits
        XCTAssertThrowsError(try Runtime.compile(program, cache: try cache())) { error in
            XCTAssertTrue("\(error)".contains("counter"), "\(error)")
        }
    }

    // MARK: - Input and state errors

    func testMissingInputListsNames() throws {
        let executable = try Runtime.compile(addProgram(), cache: try cache())
        XCTAssertThrowsError(try executable.run(["z": HostTensor(shape: [1], floats: [0])])) { error in
            guard case let SinterError.runtime(message) = error else { return XCTFail("\(error)") }
            XCTAssertTrue(message.contains("'x'") && message.contains("f32[2,3]"), message)
            XCTAssertTrue(message.contains("'z'"), message)
        }
    }

    func testWrongInputShape() throws {
        let executable = try Runtime.compile(addProgram(), cache: try cache())
        XCTAssertThrowsError(try executable.run(["x": HostTensor(shape: [3, 2], floats: [1, 2, 3, 4, 5, 6])])) { error in
            guard case let SinterError.runtime(message) = error else { return XCTFail("\(error)") }
            XCTAssertTrue(message.contains("'x'") && message.contains("f32[2,3]") && message.contains("[3,2]"), message)
        }
    }

    func testPersistentAccess() throws {
        let executable = try Runtime.compile(addProgram(), cache: try cache())
        XCTAssertEqual(executable.persistentNames, ["b", "counter"])
        try executable.setPersistent("b", HostTensor(shape: [3], doubles: [1.5, 2.5, 3.5]))
        XCTAssertEqual(try executable.persistent("b"), HostTensor(shape: [3], floats: [1.5, 2.5, 3.5]))
        XCTAssertThrowsError(try executable.setPersistent("b", HostTensor(shape: [4], floats: [0, 0, 0, 0]))) { error in
            let text = "\(error)"
            XCTAssertTrue(text.contains("'b'") && text.contains("[3]") && text.contains("[4]"), text)
        }
        XCTAssertThrowsError(try executable.persistent("nope")) { error in
            XCTAssertTrue("\(error)".contains("nope"), "\(error)")
        }
        // requireAll lists every missing name; a failed load changes nothing.
        XCTAssertThrowsError(try executable.loadPersistent(["extra": HostTensor(shape: [], floats: [1])], requireAll: true)) { error in
            let text = "\(error)"
            XCTAssertTrue(text.contains("'b'") && text.contains("'counter'"), text)
        }
        XCTAssertThrowsError(try executable.loadPersistent(["b": HostTensor(shape: [3], floats: [9, 9, 9]),
                                                            "counter": HostTensor(shape: [2], int32s: [1, 2])], requireAll: false))
        XCTAssertEqual(try executable.persistent("b").floats, [1.5, 2.5, 3.5])
        try executable.loadPersistent(["b": HostTensor(shape: [3], floats: [7, 8, 9]), "extra": HostTensor(shape: [], floats: [1])],
                                      requireAll: false)
        XCTAssertEqual(try executable.persistent("b").floats, [7, 8, 9])
        try executable.loadPersistent(["b": HostTensor(shape: [3], floats: [1, 1, 1]), "counter": HostTensor(shape: [], int32s: [41])],
                                      requireAll: true)
        XCTAssertEqual(try executable.run(["x": HostTensor(shape: [2, 3], floats: [0, 0, 0, 0, 0, 0])])["steps"]?.doubles, [42])
    }

    // MARK: - Parameter initialisation

    func testFans() {
        XCTAssertTrue(ParameterInitializer.fans([7, 5]) == (7, 5))
        XCTAssertTrue(ParameterInitializer.fans([6]) == (6, 6))
        XCTAssertTrue(ParameterInitializer.fans([]) == (1, 1))
        XCTAssertTrue(ParameterInitializer.fans([3, 3, 4, 8]) == (36, 72))
        XCTAssertTrue(ParameterInitializer.fans([2, 3, 4, 5, 6]) == (120, 144))
        XCTAssertEqual(ParameterInitializer("uniform:-1:2"), .uniform(low: -1, high: 2))
        XCTAssertEqual(ParameterInitializer("normal:0.02"), .normal(std: 0.02))
        XCTAssertNil(ParameterInitializer("uniform:2:1"))
        XCTAssertNil(ParameterInitializer("normal"))
        XCTAssertNil(ParameterInitializer("lecun"))
    }

    func testInitializeParametersIsDeterministicAndRespectsBounds() throws {
        let slots: [(String, TensorType, String?)] = [
            ("conv/kernel", TensorType(.f32, [3, 3, 4, 8]), "glorot_uniform"),
            ("dense/kernel", TensorType(.f32, [200, 100]), "he_normal"),
            ("noise", TensorType(.f64, [4000]), "normal:0.5"),
            ("range", TensorType(.f32, [1000]), "uniform:-3:-1"),
            ("gamma", TensorType(.f32, [8]), "ones"),
            ("beta", TensorType(.f32, [8]), "zeros"),
            ("steps", TensorType(.i32, [2]), "ones"),
            ("stat", TensorType(.f32, [2]), nil),
        ]
        let cache = try cache()
        let a = try Runtime.compile(paramsProgram(slots), cache: cache)
        let b = try Runtime.compile(paramsProgram(slots), cache: cache)
        try a.initializeParameters(seed: 42)
        try b.initializeParameters(seed: 42)
        for name in a.persistentNames {
            XCTAssertEqual(try a.persistent(name), try b.persistent(name), "same seed, same \(name)")
        }
        try b.initializeParameters(seed: 43)
        XCTAssertNotEqual(try a.persistent("conv/kernel"), try b.persistent("conv/kernel"))
        XCTAssertNotEqual(try a.persistent("dense/kernel"), try b.persistent("dense/kernel"))

        let conv = try a.persistent("conv/kernel").floats
        let limit = Float((6.0 / Double(36 + 72)).squareRoot())
        XCTAssertTrue(conv.allSatisfy { abs($0) <= limit })
        XCTAssertGreaterThan(conv.map(abs).max()!, limit * 0.9, "spans the range")
        XCTAssertGreaterThan(Set(conv).count, conv.count - 5, "not constant")

        let he = try a.persistent("dense/kernel").doubles
        let std = (2.0 / 200).squareRoot()
        let sigma = std / 0.87962566103423978
        XCTAssertTrue(he.allSatisfy { abs($0) <= 2 * sigma * (1 + 1e-6) }, "truncated at 2 sigma")
        XCTAssertEqual(he.reduce(0, +) / Double(he.count), 0, accuracy: std * 0.05)
        XCTAssertEqual((he.map { $0 * $0 }.reduce(0, +) / Double(he.count)).squareRoot(), std, accuracy: std * 0.03)

        let noise = try a.persistent("noise")
        XCTAssertEqual(noise.storage, .f64)
        let n = noise.doubles
        XCTAssertEqual((n.map { $0 * $0 }.reduce(0, +) / Double(n.count)).squareRoot(), 0.5, accuracy: 0.03)

        let range = try a.persistent("range").floats
        XCTAssertTrue(range.allSatisfy { $0 >= -3 && $0 <= -1 })
        XCTAssertEqual(try a.persistent("gamma").floats, [Float](repeating: 1, count: 8))
        XCTAssertEqual(try a.persistent("beta").floats, [Float](repeating: 0, count: 8))
        XCTAssertEqual(try a.persistent("steps"), HostTensor(shape: [2], int32s: [1, 1]))
        XCTAssertEqual(try a.persistent("stat").floats, [0, 0], "no initializer means zeros")
    }

    func testInitializationDependsOnlyOnSeedAndName() throws {
        let cache = try cache()
        let small = try Runtime.compile(paramsProgram([
            ("w1", TensorType(.f32, [5, 4]), "glorot_uniform"),
            ("w2", TensorType(.f32, [4, 3]), "he_normal"),
        ]), cache: cache)
        // Another param first, different order, so every offset moves.
        let bigger = try Runtime.compile(paramsProgram([
            ("w0", TensorType(.f32, [7, 7]), "glorot_uniform"),
            ("w2", TensorType(.f32, [4, 3]), "he_normal"),
            ("w1", TensorType(.f32, [5, 4]), "glorot_uniform"),
        ]), cache: cache)
        try small.initializeParameters(seed: 7)
        try bigger.initializeParameters(seed: 7)
        XCTAssertEqual(try small.persistent("w1"), try bigger.persistent("w1"))
        XCTAssertEqual(try small.persistent("w2"), try bigger.persistent("w2"))
        XCTAssertNotEqual(Array(try small.persistent("w1").floats.prefix(12)), try small.persistent("w2").floats,
                          "different names draw different streams")
    }

    func testUnknownInitializerNamesTheSlot() throws {
        let cache = try cache()
        let executable = try Runtime.compile(paramsProgram([
            ("ok", TensorType(.f32, [2]), "ones"),
            ("odd/weight", TensorType(.f32, [2]), "lecun_normal"),
        ]), cache: cache)
        XCTAssertThrowsError(try executable.initializeParameters(seed: 0)) { error in
            let text = "\(error)"
            XCTAssertTrue(text.contains("odd/weight") && text.contains("lecun_normal"), text)
        }
        XCTAssertEqual(try executable.persistent("ok").floats, [0, 0], "nothing written on failure")
        let ints = try Runtime.compile(paramsProgram([("count", TensorType(.i32, [1]), "glorot_uniform")]), cache: cache)
        XCTAssertThrowsError(try ints.initializeParameters(seed: 0)) { error in
            XCTAssertTrue("\(error)".contains("count"), "\(error)")
        }
    }
}

private extension SHA256 {
    static func hexDigest(_ digest: [UInt8]) -> String { digest.map { String(format: "%02x", $0) }.joined() }
}
