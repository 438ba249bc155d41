/// Trimming, written once: protocol text (filters, paths, header lists) is trimmed of spaces only,
/// values people typed (form fields, the `trim` column transform) of white space of any kind.
extension StringProtocol where SubSequence == Substring {
    /// Without leading and trailing spaces (U+0020).
    public var trimmingSpaces: Substring {
        var text = self[...]
        while text.first == " " { text = text.dropFirst() }
        while text.last == " " { text = text.dropLast() }
        return text
    }

    /// Without leading and trailing white space of any kind (tabs, line breaks, no-break spaces).
    public var trimmingWhitespace: String {
        let scalars = String(self).unicodeScalars
        guard let first = scalars.firstIndex(where: { !$0.properties.isWhitespace }),
              let last = scalars.lastIndex(where: { !$0.properties.isWhitespace }) else { return "" }
        return String(scalars[first...last])
    }
}
