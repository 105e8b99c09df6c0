public let embeddedCount = EmbeddedCodegen.files.count
