import Foundation
import SinterCodegen
import SinterIR
import SinterRuntime
import XCTest

/// Issue 7, item 10: a damaged kernel cache entry (truncated or altered kernel.so, a record for
/// another ABI, a missing or garbled record) is detected before dlopen, removed and rebuilt, with
/// one notice; the rebuilt library computes the right values and the next lookup is a clean hit.
final class KernelCacheIntegrityTests: XCTestCase {
    var tempDir: URL!

    override func setUpWithError() throws {
        tempDir = FileManager.default.temporaryDirectory.appendingPathComponent("sinter-cachecheck-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: tempDir, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws {
        try? FileManager.default.removeItem(at: tempDir)
    }

    func cache() throws -> KernelCache {
        var env = ProcessInfo.processInfo.environment.filter { !$0.key.hasPrefix("SINTER_") }
        env["XDG_CACHE_HOME"] = tempDir.appendingPathComponent("cache").path
        env["SINTER_CFLAGS"] = "-O1"
        return try KernelCache(environment: env)
    }

    func program() throws -> CProgram {
        let graph = try parseIR("""
            graph cachecheck {
              %0 = input {name="x"} : f32[4] @ G.swift:1
              %1 = exp(%0) : f32[4] @ G.swift:2
              output "y" = %1
            }
            """)
        return try emitC(graph, options: CodegenOptions())
    }

    let x: [Float] = [0, 1, -1, 2]

    /// Compiles (a miss), damages the entry with `damage`, compiles again and checks the notice,
    /// the rebuild and the results, then a third lookup is a clean hit.
    func check(_ what: String, noticeFragment: String, damage: (URL) throws -> Void) throws {
        let cache = try cache()
        let program = try program()
        let first = try cache.compile(program)
        XCTAssertFalse(first.cacheHit)
        XCTAssertEqual(first.notices, [])
        let entry = URL(fileURLWithPath: first.directory)
        XCTAssertTrue(FileManager.default.fileExists(atPath: entry.appendingPathComponent("library.txt").path))
        try damage(entry)

        let second = try cache.compile(program)
        XCTAssertFalse(second.cacheHit, what)
        XCTAssertEqual(second.notices.count, 1, what)
        let notice = second.notices.first ?? ""
        XCTAssertTrue(notice.contains("is damaged") && notice.contains(noticeFragment) && notice.contains("rebuilt"), "\(what): \(notice)")
        XCTAssertFalse(notice.contains("\n"), notice)
        let executable = try Executable(program: program, report: second)
        let y = try executable.run(["x": HostTensor(shape: [4], floats: x)])["y"]?.floats ?? []
        XCTAssertEqual(y.count, x.count, what)
        for (got, input) in zip(y, x) { XCTAssertEqual(Double(got), Foundation.exp(Double(input)), accuracy: 1e-5 * Foundation.exp(Double(input)), what) }

        let third = try cache.compile(program)
        XCTAssertTrue(third.cacheHit, what)
        XCTAssertEqual(third.notices, [], what)
    }

    func library(_ entry: URL) -> URL { entry.appendingPathComponent("kernel.so") }

    func testTruncatedLibraryIsRebuilt() throws {
        try check("truncated", noticeFragment: "truncated or replaced") { entry in
            let data = try Data(contentsOf: library(entry))
            try data.prefix(data.count / 2).write(to: library(entry))
        }
    }

    func testFlippedByteIsRebuilt() throws {
        try check("flipped byte", noticeFragment: "altered") { entry in
            var data = try Data(contentsOf: library(entry))
            data[data.count / 2] ^= 0x01
            try data.write(to: library(entry))
        }
    }

    func testWrongABIInTheRecordIsRebuilt() throws {
        try check("wrong ABI", noticeFragment: "built for ABI 999") { entry in
            let record = entry.appendingPathComponent("library.txt")
            let text = try String(contentsOf: record, encoding: .utf8)
            try text.replacingOccurrences(of: "abi: \(KernelCache.abiVersion)\n", with: "abi: 999\n")
                .write(to: record, atomically: true, encoding: .utf8)
        }
    }

    func testMissingOrGarbledRecordIsRebuilt() throws {
        try check("missing record", noticeFragment: "library.txt is missing") { entry in
            try FileManager.default.removeItem(at: entry.appendingPathComponent("library.txt"))
        }
        try FileManager.default.removeItem(at: tempDir.appendingPathComponent("cache"))
        try check("garbled record", noticeFragment: "library.txt is malformed") { entry in
            try "sinter kernel library\nabi: one\n".write(to: entry.appendingPathComponent("library.txt"), atomically: true, encoding: .utf8)
        }
    }

    func testMissingLibraryIsRebuilt() throws {
        let cache = try cache()
        let program = try program()
        let first = try cache.compile(program)
        try FileManager.default.removeItem(atPath: first.libraryPath)
        let second = try cache.compile(program)
        XCTAssertFalse(second.cacheHit)
        XCTAssertEqual(second.notices.count, 1)
        XCTAssertTrue(second.notices.first?.contains("has no kernel.so") ?? false, "\(second.notices)")
    }

    /// A valid library planted in place of the real one, with a constructor that would run on
    /// dlopen: the hash check refuses it before it is ever loaded.
    func testPlantedLibraryIsNeverLoaded() throws {
        let marker = tempDir.appendingPathComponent("LOADED").path
        try check("planted library", noticeFragment: "library.txt") { entry in
            let source = tempDir.appendingPathComponent("plant.c")
            try """
                #include <stdio.h>
                __attribute__((constructor)) static void planted(void) { FILE *f = fopen("\(marker)", "w"); if (f) fclose(f); }
                int sinter_abi_version(void) { return 1; }
                """.write(to: source, atomically: true, encoding: .utf8)
            let process = Process()
            process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
            process.arguments = ["cc", "-shared", "-fPIC", "-o", library(entry).path, source.path]
            try process.run()
            process.waitUntilExit()
            XCTAssertEqual(process.terminationStatus, 0)
        }
        XCTAssertFalse(FileManager.default.fileExists(atPath: marker), "the planted library was loaded")
    }
}
