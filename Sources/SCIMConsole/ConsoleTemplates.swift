import Foundation
import Mustache

/// The console's templates (one per page, plus the layout they extend) and its static files,
/// read once per process from the module's resources. Escaping is Mustache's default: `{{x}}` is
/// HTML-escaped, and no template uses the unescaped triple mustache.
final class ConsoleTemplates: Sendable {
    let library: MustacheLibrary
    let assets: [String: [UInt8]]

    init(templates: URL, assets: URL) throws {
        var library = MustacheLibrary()
        let files = FileManager.default
        for name in try files.contentsOfDirectory(atPath: templates.path) where name.hasSuffix(".mustache") {
            let text = try String(contentsOf: templates.appendingPathComponent(name), encoding: .utf8)
            try library.register(text, named: String(name.dropLast(".mustache".count)))
        }
        var assetBytes: [String: [UInt8]] = [:]
        for name in try files.contentsOfDirectory(atPath: assets.path) {
            assetBytes[name] = Array(try Data(contentsOf: assets.appendingPathComponent(name)))
        }
        self.library = library
        self.assets = assetBytes
    }

    static let bundled: ConsoleTemplates? = {
        guard let root = Bundle.module.resourceURL else { return nil }
        return try? ConsoleTemplates(templates: root.appendingPathComponent("Templates"), assets: root.appendingPathComponent("Assets"))
    }()

    func render(_ template: String, _ model: Any) -> String {
        library.render(model, withTemplate: template) ?? "<!doctype html><title>Console</title><p>The page template \(template) is missing."
    }
}
