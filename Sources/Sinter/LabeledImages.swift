import Foundation
import SinterIO
import SinterIR

/// Images with a class label each: feeds `x` (N, H, W, C) and `y` (N), the class index as a
/// float (Keras's sparse labels; graphs compute in f32). From IDX image and label files
/// (MNIST, Fashion-MNIST) or from a folder with one subfolder of images per class.
public struct LabeledImages: Dataset {
    public let images: ImageDataset
    public let labels: [Int32]
    /// Class `i`'s name: its subfolder, or its number for IDX labels.
    public let classNames: [String]

    public var count: Int { images.count }

    /// Every label must be one of `classNames`' indices.
    public init(images: ImageDataset, labels: [Int32], classNames: [String]) throws {
        guard labels.count == images.count else {
            throw SinterError.runtime(message: "\(images.count) images but \(labels.count) labels")
        }
        if let bad = labels.firstIndex(where: { $0 < 0 || Int($0) >= classNames.count }) {
            throw SinterError.runtime(message: "label \(bad) is \(labels[bad]); there are \(classNames.count) classes (0...\(classNames.count - 1))")
        }
        self.images = images
        self.labels = labels
        self.classNames = classNames
    }

    public func feeds(for indices: ArraySlice<Int>) -> [String: HostTensor] {
        ["x": images.batch(indices), "y": HostTensor(shape: [indices.count], floats: indices.map { Float(labels[$0]) })]
    }

    /// IDX images (N, H, W) scaled to [0, 1] and their IDX labels (N) of bytes; `limit` keeps the
    /// first N. The classes are 0..<`classes`, or 0...the largest label when not given.
    public static func idx(images: String, labels: String, limit: Int? = nil, classes: Int? = nil) throws -> LabeledImages {
        try labelled(try ImageDataset.idx(path: images, limit: limit), labelsPath: labels, classes: classes)
    }

    /// Fashion-MNIST's train or test images and labels (Debian's dataset-fashion-mnist, or
    /// `directory`), ten classes.
    public static func fashionMNIST(train: Bool, directory: String? = nil, limit: Int? = nil) throws -> LabeledImages {
        let path = "\(directory ?? Datasets.fashionMNISTDirectory)/\(train ? "train" : "t10k")-labels-idx1-ubyte.gz"
        return try labelled(try Datasets.fashionMNIST(train: train, directory: directory, limit: limit), labelsPath: path, classes: 10)
    }

    /// `pictures` with the first labels of the IDX label file at `labelsPath`.
    private static func labelled(_ pictures: ImageDataset, labelsPath path: String, classes: Int?) throws -> LabeledImages {
        if let classes, classes < 1 { throw SinterError.runtime(message: "classes must be at least 1, not \(classes)") }
        let read = try IDXFile.labels(path: path, limit: pictures.count)
        guard read.count == pictures.count else {
            throw SinterError.file(path: path, message: "holds \(read.count) labels for \(pictures.count) images")
        }
        let values = read.doubles.map { Int32($0) }
        let count = classes ?? Int(values.max() ?? 0) + 1
        do {
            return try LabeledImages(images: pictures, labels: values, classNames: (0..<count).map(String.init))
        } catch let SinterError.runtime(message) {
            throw SinterError.file(path: path, message: message)
        }
    }

    /// A folder with one subfolder per class (`cats/`, `dogs/`): the classes are the subfolders
    /// sorted by name (as Keras's `image_dataset_from_directory`), class `i`'s images are those
    /// `ImageDataset.imageFolder` reads from subfolder `i` (centre crop, resize to `size`, RGB in
    /// [-1, 1]); files beside the subfolders and hidden folders are ignored. `limit` keeps the
    /// first N images of each class. An empty class is an error naming its folder.
    public static func classFolders(_ directory: String, size: Int, crop: Int? = nil, limit: Int? = nil) throws -> LabeledImages {
        let classes = try classFolderNames(in: directory)
        var pixels: [Float] = [], labels: [Int32] = []
        for (label, name) in classes.enumerated() {
            let images = try ImageDataset.imageFolder("\(directory)/\(name)", size: size, crop: crop, limit: limit)
            pixels += images.pixels
            labels += [Int32](repeating: Int32(label), count: images.count)
        }
        let images = ImageDataset(pixels: pixels, count: labels.count, height: size, width: size, channels: 3)
        return try LabeledImages(images: images, labels: labels, classNames: classes)
    }

    /// The subfolders of `directory`, sorted; an error naming the folder when it has none.
    static func classFolderNames(in directory: String) throws -> [String] {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: directory, isDirectory: &isDirectory), isDirectory.boolValue else {
            throw SinterError.file(path: directory, message: "no such folder (expected a folder with one subfolder of images per class)")
        }
        let entries: [String]
        do { entries = try FileManager.default.contentsOfDirectory(atPath: directory) } catch {
            throw SinterError.file(path: directory, message: "cannot list the class folders (\(String(cString: strerror(errno))))")
        }
        let classes = entries.filter { name in
            var isFolder: ObjCBool = false
            return !name.hasPrefix(".") && FileManager.default.fileExists(atPath: "\(directory)/\(name)", isDirectory: &isFolder) && isFolder.boolValue
        }.sorted()
        guard !classes.isEmpty else {
            throw SinterError.file(path: directory, message: "holds no class subfolders (expected one subfolder of images per class)")
        }
        return classes
    }
}
