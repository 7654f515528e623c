// swift-tools-version:6.0
import PackageDescription

let package = Package(
    name: "atiende",
    platforms: [.macOS(.v14)],
    products: [
        .executable(name: "atiende", targets: ["atiende"]),
        .executable(name: "atiende-bench", targets: ["atiende-bench"]),
        .executable(name: "atiende-mime-bench", targets: ["atiende-mime-bench"]),
    ],
    dependencies: [
        .package(url: "https://github.com/vapor/vapor.git", from: "4.122.0"),
        .package(url: "https://github.com/vapor/fluent.git", from: "4.13.0"),
        .package(url: "https://github.com/vapor/fluent-sqlite-driver.git", from: "4.9.0"),
        .package(url: "https://github.com/vapor/fluent-postgres-driver.git", from: "2.14.0"),
        .package(url: "https://github.com/apple/swift-crypto.git", from: "3.12.3"),
        .package(url: "https://github.com/apple/swift-metrics.git", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus.git", from: "2.4.1"),
        .package(url: "https://github.com/swift-server/async-http-client.git", from: "1.37.0"),
        .package(url: "https://github.com/JohnSundell/Plot.git", from: "0.14.0"),
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-nio-ssl.git", from: "2.37.6"),
    ],
    targets: [
        .target(
            name: "AtiendeCore",
            dependencies: [
                .product(name: "Fluent", package: "fluent"),
                .product(name: "FluentSQLiteDriver", package: "fluent-sqlite-driver"),
                .product(name: "FluentPostgresDriver", package: "fluent-postgres-driver"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Metrics", package: "swift-metrics"),
            ]
        ),
        .target(
            // The gate of every outgoing connection (no internal addresses unless allowed).
            name: "AtiendeNetwork",
            dependencies: [
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
            ]
        ),
        .target(
            name: "AtiendeChannels",
            dependencies: [
                "AtiendeCore",
                "AtiendeMail",
                "AtiendeNetwork",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "Crypto", package: "swift-crypto"),
            ]
        ),
        .target(
            // Mail without a mail library: MIME (Foundation only, so the fuzz target builds MIME/ alone) and the protocols on SwiftNIO.
            name: "AtiendeMail",
            dependencies: [
                "AtiendeNetwork",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
            ]
        ),
        .target(
            name: "AtiendeWeb",
            dependencies: [
                "AtiendeCore",
                "AtiendeChannels",
                "AtiendeMail",
                "AtiendeNetwork",
                .product(name: "Vapor", package: "vapor"),
                .product(name: "Fluent", package: "fluent"),
                .product(name: "Plot", package: "Plot"),
                .product(name: "Prometheus", package: "swift-prometheus"),
            ],
            resources: [.copy("Resources/translations"), .copy("Resources/Public")]
        ),
        .executableTarget(
            name: "atiende",
            dependencies: [
                "AtiendeWeb",
                .product(name: "Vapor", package: "vapor"),
            ]
        ),
        .executableTarget(
            name: "atiende-bench",
            dependencies: [
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "Crypto", package: "swift-crypto"),
            ],
            path: "bench/IngestBench"
        ),
        .executableTarget(
            name: "atiende-mime-bench",
            dependencies: ["AtiendeMail"],
            path: "bench/MIMEBench"
        ),
        .testTarget(
            name: "AtiendeCoreTests",
            dependencies: ["AtiendeCore"]
        ),
        .testTarget(
            name: "AtiendeMailTests",
            dependencies: ["AtiendeMail"],
            resources: [.copy("Fixtures")]
        ),
        .testTarget(
            name: "AtiendeWebTests",
            dependencies: [
                "AtiendeWeb",
                "AtiendeNetwork",
                .product(name: "XCTVapor", package: "vapor"),
                .product(name: "VaporTesting", package: "vapor"),
            ]
        ),
    ],
    swiftLanguageModes: [.v6]
)
