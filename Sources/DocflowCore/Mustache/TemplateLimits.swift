/// How large a Mustache template may be, how deep its sections may nest, and how large its
/// rendering may grow. Checked when a workflow or integration is saved (400 naming the field)
/// and again at every rendering, since stored templates may predate the limits.
public struct TemplateLimits: Sendable, Equatable {
    /// Sections deeper than this are refused. A constant, not a setting: rendering keeps its
    /// own stack, so depth costs no machine stack, and no message needs more.
    public static let maxDepth = 32

    /// Largest template, in UTF-8 bytes (`--max-template-bytes`).
    public var maxTemplateBytes: Int
    /// Largest rendered text, in UTF-8 bytes (`--max-rendered-bytes`); rendering stops as soon as it passes.
    public var maxRenderedBytes: Int

    public init(maxTemplateBytes: Int = 64 * 1024, maxRenderedBytes: Int = 1024 * 1024) {
        self.maxTemplateBytes = maxTemplateBytes
        self.maxRenderedBytes = maxRenderedBytes
    }
}
