import SinterIR
import XCTest

/// Messages that quote file content stay short and printable.
final class ExcerptTests: XCTestCase {
    func testExcerptCutsAndEscapes() {
        XCTAssertEqual(SinterError.excerpt("plain"), "plain")
        XCTAssertEqual(SinterError.excerpt(String(repeating: "a", count: 200)), String(repeating: "a", count: 80) + "...")
        XCTAssertEqual(SinterError.excerpt([0x41, 0x00, 0x0a, 0x1b, 0xff, 0x42] as [UInt8]), "A\\x00\\n\\x1b\\xffB")
        XCTAssertEqual(SinterError.excerpt("größe"), "größe")
        XCTAssertEqual(SinterError.excerpt([0xc3] as [UInt8]), "\\xc3")
        XCTAssertEqual(SinterError.excerpt("a\\b"), "a\\\\b")
        XCTAssertEqual(SinterError.excerpt("abcdef", limit: 3), "abc...")
    }
}
