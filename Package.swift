// swift-tools-version:6.0
import PackageDescription

let package = Package(
    name: "scim-server",
    platforms: [.macOS(.v14)],
    products: [
        .executable(name: "scim-fcgi", targets: ["scim-fcgi"]),
        .executable(name: "scimctl", targets: ["scimctl"]),
        // For the fuzz targets in Fuzz/ (a package of their own, built with -sanitize=fuzzer).
        .library(name: "SCIMCore", targets: ["SCIMCore"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/apple/swift-log", from: "1.6.0"),
        .package(url: "https://github.com/apple/swift-crypto", from: "3.12.0"),
        // The console's page templates (logic-less, HTML-escaping by default).
        .package(url: "https://github.com/hummingbird-project/swift-mustache", from: "2.1.0"),
    ],
    targets: [
        .systemLibrary(name: "CFastCGI", path: "Sources/CFastCGI",
                       pkgConfig: "fcgi", providers: [.apt(["libfcgi-dev"])]),
        .systemLibrary(name: "CLibPQ", path: "Sources/CLibPQ",
                       pkgConfig: "libpq", providers: [.apt(["libpq-dev"])]),
        .target(name: "SCIMCore"),
        // The admin layer: what an administrator does, as operations over a store protocol; the
        // JSON admin API is one face of it, the console and scimctl the others.
        .target(name: "SCIMAdmin",
                dependencies: ["SCIMCore", .product(name: "Crypto", package: "swift-crypto"),
                               .product(name: "_CryptoExtras", package: "swift-crypto")]),
        .target(name: "SCIMConsole",
                dependencies: ["SCIMCore", "SCIMAdmin", .product(name: "Mustache", package: "swift-mustache")],
                resources: [.copy("Templates"), .copy("Assets")]),
        // Where the programs' settings come from (environment file, environment), checked at start.
        .target(name: "SCIMSettings", dependencies: ["SCIMCore"]),
        .target(name: "SCIMPostgres",
                dependencies: ["SCIMCore", "SCIMAdmin", "CLibPQ", .product(name: "Crypto", package: "swift-crypto"),
                               .product(name: "Logging", package: "swift-log")]),
        .target(name: "SCIMFastCGI",
                dependencies: ["SCIMCore", "CFastCGI", .product(name: "Logging", package: "swift-log")]),
        .executableTarget(name: "scim-fcgi",
                          dependencies: ["SCIMCore", "SCIMAdmin", "SCIMConsole", "SCIMPostgres", "SCIMFastCGI", "SCIMSettings",
                                         .product(name: "ArgumentParser", package: "swift-argument-parser"),
                                         .product(name: "Logging", package: "swift-log")]),
        .executableTarget(name: "scimctl",
                          dependencies: ["SCIMCore", "SCIMAdmin", "SCIMPostgres", "SCIMSettings", "SCIMFastCGI", .product(name: "Logging", package: "swift-log"),
                                         .product(name: "ArgumentParser", package: "swift-argument-parser")]),
        .testTarget(name: "SCIMCoreTests", dependencies: ["SCIMCore"],
                    resources: [.copy("Fixtures")]),
        .testTarget(name: "SCIMAdminTests", dependencies: ["SCIMCore", "SCIMAdmin"]),
        .testTarget(name: "SCIMConsoleTests", dependencies: ["SCIMCore", "SCIMAdmin", "SCIMConsole"]),
        .testTarget(name: "SCIMPostgresTests", dependencies: ["SCIMCore", "SCIMAdmin", "SCIMPostgres", "SCIMSettings"]),
        .testTarget(name: "SCIMSettingsTests", dependencies: ["SCIMSettings"]),
        .testTarget(name: "EndToEndTests", dependencies: ["SCIMCore", "SCIMFastCGI"]),
    ]
)
