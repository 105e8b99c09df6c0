import Foundation
import SinterIO
import SinterIR

/// Binary PGM (P5) and PPM (P6) files of 8-bit samples: how djpeg writes the reference decodes
/// of the JPEG fixtures (Tests/SinterTests/Data/jpeg).
enum PNM {
    static func read(_ url: URL) throws -> RasterImage {
        let bytes = [UInt8](try Data(contentsOf: url))
        var at = 0
        func token() throws -> String {
            while at < bytes.count {
                if bytes[at] == UInt8(ascii: "#") {
                    while at < bytes.count && bytes[at] != 10 { at += 1 }
                } else if [9, 10, 13, 32].contains(bytes[at]) {
                    at += 1
                } else {
                    break
                }
            }
            let start = at
            while at < bytes.count && ![9, 10, 13, 32].contains(bytes[at]) { at += 1 }
            guard at > start else { throw SinterError.file(path: url.path, message: "truncated PNM header") }
            return String(decoding: bytes[start..<at], as: UTF8.self)
        }
        let magic = try token()
        guard magic == "P5" || magic == "P6", let width = Int(try token()), let height = Int(try token()), try token() == "255" else {
            throw SinterError.file(path: url.path, message: "not an 8-bit binary PGM/PPM")
        }
        at += 1  // The one whitespace byte after the maximum value.
        let channels = magic == "P5" ? 1 : 3
        let count = width * height * channels
        guard bytes.count - at == count else {
            throw SinterError.file(path: url.path, message: "PNM data is \(bytes.count - at) bytes, expected \(count)")
        }
        return RasterImage(width: width, height: height, channels: channels, pixels: Array(bytes[at...]))
    }
}
