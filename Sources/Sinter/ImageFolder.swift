import Foundation
import SinterIO
import SinterIR

extension ImageDataset {
    /// The extensions of the image files a folder dataset reads (any letter case): PNG and JPEG.
    /// Each file is then decoded by its content (`RasterImage.read`), not by its name.
    public static let imageExtensions = [".png", ".jpg", ".jpeg"]

    /// The PNG and JPEG files of `directory` (by extension, `imageExtensions`), sorted by name;
    /// an error naming the folder when it is missing, a file, unreadable or holds no image.
    /// Shared by every image-folder dataset.
    public static func imageNames(in directory: String) throws -> [String] {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: directory, isDirectory: &isDirectory) else {
            throw SinterError.file(path: directory, message: "no such folder (expected a folder of .png or .jpg images)")
        }
        guard isDirectory.boolValue else {
            throw SinterError.file(path: directory, message: "is a file, expected a folder of .png or .jpg images")
        }
        let names: [String]
        do {
            names = try FileManager.default.contentsOfDirectory(atPath: directory).filter { name in
                imageExtensions.contains { name.lowercased().hasSuffix($0) }
            }.sorted()
        } catch {
            throw SinterError.file(path: directory, message: "cannot list the image folder (\(String(cString: strerror(errno))))")
        }
        guard !names.isEmpty else { throw SinterError.file(path: directory, message: "holds no .png or .jpg images") }
        return names
    }

    /// Every PNG and JPEG in `directory` (`imageNames`, sorted by name), centre-cropped to a
    /// `crop` x `crop` square (default: the shorter side; CelebA's preprocessing uses 128 at
    /// left = (W-128)/2, top = (H-128)/2), resized to `size` x `size` by averaging the source
    /// pixels each target pixel covers (a box filter; the notebook's offline LANCZOS differs
    /// slightly), as RGB in [-1, 1] (x/127.5 - 1). `limit` keeps the first N files. Any PNG
    /// variant is accepted and converted as `PNGImage.decode` documents (16-bit to 8-bit,
    /// palette to RGB, alpha composited onto white), and any JPEG `JPEGImage.decode` reads; gray
    /// images are replicated to RGB. A broken or oversized image is an error naming it; an empty
    /// folder is an error naming the folder.
    public static func imageFolder(_ directory: String, size: Int = 64, crop: Int? = nil, limit: Int? = nil) throws -> ImageDataset {
        guard size >= 1, crop.map({ $0 >= size }) ?? true, limit.map({ $0 >= 1 }) ?? true else {
            throw SinterError.file(path: directory, message: "cannot read the image folder with size \(size), crop \(crop.map(String.init) ?? "auto"), limit \(limit.map(String.init) ?? "none"): size and limit must be at least 1 and crop at least size")
        }
        let names = try imageNames(in: directory)
        let chosen = names.prefix(limit ?? names.count)
        let (total, overflow) = (size * size * 3).multipliedReportingOverflow(by: chosen.count)
        guard !overflow, total <= InputFile.defaultMaxBytes / MemoryLayout<Float>.size else {
            throw SinterError.file(path: directory, message: "\(chosen.count) images of \(size)x\(size)x3 floats are more than the limit of \(InputFile.defaultMaxBytes) bytes")
        }
        var pixels: [Float] = []
        pixels.reserveCapacity(total)
        for name in chosen {
            let path = "\(directory)/\(name)"
            let image = try RasterImage.read(path: path)
            let side = crop ?? min(image.width, image.height)
            guard side <= image.width, side <= image.height, side >= size else {
                throw SinterError.file(path: path, message: "is \(image.width)x\(image.height); cannot crop \(side)x\(side) and resize to \(size)x\(size)")
            }
            let left = (image.width - side) / 2, top = (image.height - side) / 2
            for y in 0..<size {
                let y0 = top + y * side / size, y1 = max(top + (y + 1) * side / size, y0 + 1)
                for x in 0..<size {
                    let x0 = left + x * side / size, x1 = max(left + (x + 1) * side / size, x0 + 1)
                    for c in 0..<3 {
                        var sum = 0
                        for sy in y0..<y1 {
                            for sx in x0..<x1 {
                                let channel = image.channels == 1 ? 0 : c
                                sum += Int(image.pixels[(sy * image.width + sx) * image.channels + channel])
                            }
                        }
                        pixels.append(Float(sum) / Float((y1 - y0) * (x1 - x0)) / 127.5 - 1)
                    }
                }
            }
        }
        return ImageDataset(pixels: pixels, count: chosen.count, height: size, width: size, channels: 3)
    }
}
