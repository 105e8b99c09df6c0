import Foundation
import Sinter

/// The content photos `sinter train style` learns from: seeded random square crops of every
/// PNG and JPEG in a folder (`ImageDataset.imageNames`), resized to `crop` x `crop` (RGB in [0, 1]).
///
/// Each photo gives `cropsPerImage` crops; each crop's side is drawn uniformly from
/// [crop, shorter side] and its position uniformly, then it is box-filtered down to `crop` (a
/// mild scale augmentation; Johnson et al. resize COCO to 256x256 instead, which needs a
/// dataset far bigger than a folder of photos). The crops are drawn once, from `seed`, so the
/// data are the same on every run and on `--resume`.
public enum StyleCrops {
    /// The largest total of crop floats held in memory (1 GiB of floats).
    public static let maxFloats = 1 << 28

    public static func load(directory: String, crop: Int, cropsPerImage: Int, seed: UInt64, limit: Int? = nil) throws -> ImageDataset {
        guard crop >= 1, cropsPerImage >= 1, limit.map({ $0 >= 1 }) ?? true else {
            throw SinterError.file(path: directory, message: "cannot crop the photos with crop \(crop), \(cropsPerImage) crops per image, limit \(limit.map(String.init) ?? "none"): each must be at least 1")
        }
        let names = try ImageDataset.imageNames(in: directory)
        let chosen = Array(names.prefix(limit ?? names.count))
        let perCrop = crop * crop * 3
        let (count, overflowCount) = chosen.count.multipliedReportingOverflow(by: cropsPerImage)
        let (total, overflowTotal) = count.multipliedReportingOverflow(by: perCrop)
        guard !overflowCount, !overflowTotal, total <= maxFloats else {
            throw SinterError.file(path: directory, message: "\(chosen.count) photos x \(cropsPerImage) crops of \(crop)x\(crop)x3 floats are more than the limit of \(maxFloats) floats")
        }
        var rng = SplitMix64(seed: seed ^ 0x5354_594C_4543_524F)  // "STYLECRO"
        var pixels: [Float] = []
        pixels.reserveCapacity(total)
        for name in chosen {
            let path = "\(directory)/\(name)"
            let image = try RasterImage.read(path: path, maxPixelBytes: StyleImages.maxPixelBytes)
            let short = min(image.width, image.height)
            guard short >= crop else {
                throw SinterError.file(path: path, message: "is \(image.width)x\(image.height); its shorter side must be at least the crop, \(crop)")
            }
            for _ in 0..<cropsPerImage {
                let side = crop + Int(rng.next() % UInt64(short - crop + 1))
                let left = Int(rng.next() % UInt64(image.width - side + 1))
                let top = Int(rng.next() % UInt64(image.height - side + 1))
                appendBoxResized(image, left: left, top: top, side: side, to: crop, into: &pixels)
            }
        }
        return ImageDataset(pixels: pixels, count: count, height: crop, width: crop, channels: 3)
    }

    /// The side x side square at (left, top), averaged down to size x size, in [0, 1].
    static func appendBoxResized(_ image: RasterImage, left: Int, top: Int, side: Int, to size: Int, into pixels: inout [Float]) {
        for y in 0..<size {
            let y0 = top + y * side / size, y1 = max(top + (y + 1) * side / size, y0 + 1)
            for x in 0..<size {
                let x0 = left + x * side / size, x1 = max(left + (x + 1) * side / size, x0 + 1)
                for c in 0..<3 {
                    var sum = 0
                    let channel = image.channels >= 3 ? c : 0
                    for sy in y0..<y1 {
                        for sx in x0..<x1 { sum += Int(image.pixels[(sy * image.width + sx) * image.channels + channel]) }
                    }
                    pixels.append(Float(sum) / Float((y1 - y0) * (x1 - x0)) / 255)
                }
            }
        }
    }
}
