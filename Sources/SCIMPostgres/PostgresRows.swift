/// Rows copied out of a `PGresult`, which is freed at once, as PostgreSQL's text output; the
/// typed reads below are the one place that output is decoded.
public struct PostgresRows: Sendable {
    public var columns: [String]
    public var rows: [[String?]]
    /// The number of rows an INSERT/UPDATE/DELETE touched.
    public var affected: Int

    public var count: Int { rows.count }

    public subscript(row: Int, column: String) -> String? {
        guard row < rows.count, let index = columns.firstIndex(of: column) else { return nil }
        return rows[row][index]
    }

    /// A `boolean` column (`t` or `f`); nil for NULL or a missing column.
    public func bool(_ row: Int, _ column: String) -> Bool? {
        switch self[row, column] {
        case "t"?: return true
        case "f"?: return false
        default: return nil
        }
    }

    /// An integer column; nil for NULL, a missing column or a value that is not an integer.
    public func int(_ row: Int, _ column: String) -> Int? {
        self[row, column].flatMap { Int($0) }
    }

    /// A `text[]` column (`{a,"b c",NULL}`), NULL elements left out; nil for NULL.
    public func textArray(_ row: Int, _ column: String) -> [String]? {
        self[row, column].flatMap(Self.arrayElements)
    }

    /// The elements of a one-dimensional array literal in PostgreSQL's output format: elements
    /// separated by commas, quoted (with backslash escapes) when they hold a comma, quote, brace,
    /// backslash or space, and unquoted NULL for a null element.
    static func arrayElements(_ literal: String) -> [String]? {
        let characters = Array(literal)
        guard characters.first == "{", characters.last == "}" else { return nil }
        var elements: [String] = []
        var index = 1
        let end = characters.count - 1
        while index < end {
            var element = ""
            if characters[index] == "\"" {
                index += 1
                while index < end, characters[index] != "\"" {
                    if characters[index] == "\\", index + 1 < end { index += 1 }
                    element.append(characters[index])
                    index += 1
                }
                index += 1
                elements.append(element)
            } else {
                while index < end, characters[index] != "," {
                    element.append(characters[index])
                    index += 1
                }
                if element != "NULL" { elements.append(element) }
            }
            index += 1
        }
        return elements
    }
}
