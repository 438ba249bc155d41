// swift-tools-version:5.4
// Tools version 5.4 on purpose: later ones link executables through a renamed entry point, which
// the fuzzer (it brings its own main) cannot provide.
// libFuzzer targets for the parsers that read untrusted input. Built apart from the product, with
// the fuzzer and address sanitizer: see Fuzz/run.sh.
import PackageDescription

let fuzzSettings: [SwiftSetting] = [.unsafeFlags(["-parse-as-library"])]

let package = Package(
    name: "scim-fuzz",
    dependencies: [.package(name: "scim-server", path: "..")],
    targets: ["FuzzFilter", "FuzzPatchPath", "FuzzPatchEngine", "FuzzJSONBody"].map { name in
        .executableTarget(name: name, dependencies: [.product(name: "SCIMCore", package: "scim-server")],
                          swiftSettings: fuzzSettings)
    }
)
