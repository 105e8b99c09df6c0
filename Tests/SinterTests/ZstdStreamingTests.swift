import Foundation
import Sinter
import SinterIO
import SinterIR
import XCTest

/// Issue 7 item 1: zstd payloads that are an exact multiple of 128 KiB (the decoder's output
/// block) were refused as truncated, which made such checkpoints unreadable.
final class ZstdStreamingTests: XCTestCase {
    static let block = 128 * 1024

    func payload(_ count: Int, seed: UInt64) -> [UInt8] {
        var generator = SplitMix64(seed: seed)
        // Half compressible, half noise, so frames hold both raw and compressed blocks.
        return (0..<count).map { i in i % 2 == 0 ? UInt8(i / 7 % 251) : UInt8(truncatingIfNeeded: generator.next()) }
    }

    func testRoundTripAtBlockMultiples() throws {
        for k in 1...3 {
            for size in [k * Self.block - 1, k * Self.block, k * Self.block + 1] {
                let data = payload(size, seed: UInt64(size))
                let back = try Zstd.decompress(Zstd.compress(data), source: "size \(size)")
                XCTAssertEqual(back.count, size, "size \(size)")
                XCTAssertTrue(back == data, "size \(size) round trip differs")
            }
        }
    }

    func testMultiFrameInput() throws {
        let parts = [payload(Self.block, seed: 1), payload(17, seed: 2), [], payload(2 * Self.block + 5, seed: 3)]
        let joined = parts.flatMap { Zstd.compress($0) }
        XCTAssertEqual(try Zstd.decompress(joined), parts.flatMap { $0 })
    }

    func testStreamingDecoderInOddChunks() throws {
        for size in [Self.block, 2 * Self.block + 1, 3 * Self.block - 1] {
            let data = payload(size, seed: 9)
            let compressed = Zstd.compress(data) + Zstd.compress(Array(data.prefix(1000)))
            for chunkSize in [1, 7, 4093, 65_537] where size < 2 * Self.block || chunkSize > 1 {
                let decoder = try ZstdStreamDecoder(source: "chunks")
                var out: [UInt8] = []
                var offset = 0
                while offset < compressed.count {
                    let end = min(offset + chunkSize, compressed.count)
                    out += try decoder.feed(compressed[offset..<end])
                    offset = end
                }
                try decoder.finish()
                XCTAssertTrue(out == data + data.prefix(1000), "size \(size), chunks of \(chunkSize)")
            }
        }
    }

    func testTruncatedFrameIsRefusedByDecompressAndStream() throws {
        let compressed = Zstd.compress(payload(Self.block * 2, seed: 4))
        let cut = Array(compressed.dropLast(3))
        XCTAssertThrowsError(try Zstd.decompress(cut, source: "cut.zst")) { error in
            XCTAssertTrue("\(error)".hasPrefix("cut.zst: truncated zstd data"), "\(error)")
        }
        let decoder = try ZstdStreamDecoder(source: "cut.zst")
        _ = try decoder.feed(cut)
        XCTAssertThrowsError(try decoder.finish()) { XCTAssertTrue("\($0)".contains("truncated zstd data"), "\($0)") }
    }

    func testDeclaredSizeAboveLimitIsRefusedBeforeInflating() throws {
        let bomb = Zstd.compress([UInt8](repeating: 0, count: 4 << 20))
        XCTAssertLessThan(bomb.count, 1000)
        XCTAssertThrowsError(try Zstd.decompress(bomb, source: "bomb.zst", maxBytes: 1 << 20)) { error in
            XCTAssertEqual("\(error)", "bomb.zst: zstd data declares 4194304 bytes of content, more than the limit of 1048576 bytes")
        }
    }

    func testOutputStopsAtLimitWhenSizeIsNotDeclared() throws {
        // A frame whose header lies about its size is caught by zstd; one without a size (as
        // streaming compressors write) is stopped by the output limit.
        let frame = Zstd.compress([UInt8](repeating: 7, count: 3 << 20))
        let decoder = try ZstdStreamDecoder(source: "stream.zst", maxBytes: 1 << 20)
        XCTAssertThrowsError(try decoder.feed(frame)) { error in
            XCTAssertEqual("\(error)", "stream.zst: zstd data decompresses to more than the limit of 1048576 bytes")
        }
    }

    /// End to end: a checkpoint whose uncompressed payload is exactly k * 128 KiB reads back.
    func testCheckpointWithBlockMultiplePayloadReadsBack() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("sinter-zstd-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        for k in 1...2 {
            let target = k * Self.block
            var n = target / 2
            var tensors: [String: HostTensor] = [:]
            // The payload is Checkpoint's safetensors encoding (with model and step in the
            // metadata); adjust the tensor until that is exactly the target size.
            for _ in 0..<8 {
                tensors = ["w": HostTensor(storage: .u8, shape: [n], bytes: payload(n, seed: 5))]
                let size = try Safetensors.encode(tensors, metadata: ["model": "m", "step": "3"]).count
                if size == target { break }
                n += target - size
            }
            XCTAssertEqual(try Safetensors.encode(tensors, metadata: ["model": "m", "step": "3"]).count, target)
            let checkpoint = Checkpoint(model: "m", step: 3, tensors: tensors)
            let path = "\(directory)/k\(k).ckpt"
            try checkpoint.write(to: path)
            XCTAssertEqual(try Checkpoint.read(path: path), checkpoint)
        }
    }
}
