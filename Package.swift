// swift-tools-version:6.0
import PackageDescription

let package = Package(
    name: "docflow",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "docflow", targets: ["docflow"]),
        .executable(name: "docflow-jq", targets: ["docflow-jq"]),
        .executable(name: "docflow-parse", targets: ["docflow-parse"]),
        .library(name: "AMQPClient", targets: ["AMQPClient"]),
        .library(name: "DocflowClient", targets: ["DocflowClient"]),
    ],
    dependencies: [
        .package(url: "https://github.com/groue/GRDB.swift", from: "7.10.0"),
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.13.0"),
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.28.1"),
        .package(url: "https://github.com/apple/swift-crypto", from: "3.12.3"),
        .package(url: "https://github.com/apple/swift-http-types", from: "1.8.0"),
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-metrics", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.4.1"),
        .package(url: "https://github.com/HdrHistogram/hdrhistogram-swift", from: "0.2.0"),
        .package(url: "https://github.com/weichsel/ZIPFoundation", from: "0.9.20"),
    ],
    targets: [
        // C shims: includes and non-variadic wrappers only.
        .target(
            name: "CRabbitMQ",
            linkerSettings: [.linkedLibrary("rabbitmq")]
        ),
        .target(
            name: "CCurl",
            linkerSettings: [.linkedLibrary("curl")]
        ),
        .target(name: "CSpawn"),
        .systemLibrary(
            name: "CPoppler",
            pkgConfig: "poppler-glib",
            providers: [.apt(["libpoppler-glib-dev"]), .brew(["poppler"])]
        ),
        .target(
            name: "AMQPClient",
            dependencies: [
                "CRabbitMQ",
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        // jq runs in helper processes: libjq 1.6 is neither thread-safe nor interruptible.
        .executableTarget(
            name: "docflow-jq",
            linkerSettings: [.linkedLibrary("jq")]
        ),
        .target(name: "DocflowCore"),
        .target(
            name: "DocflowStore",
            dependencies: [
                "DocflowCore",
                .product(name: "GRDB", package: "GRDB.swift"),
            ]
        ),
        // Document parsers: bytes in, text out; no database, no network.
        .target(
            name: "DocflowDocuments",
            dependencies: [
                "DocflowCore",
                "CPoppler",
                .product(name: "ZIPFoundation", package: "ZIPFoundation"),
            ]
        ),
        // Documents are parsed in helper processes: poppler can take gigabytes and minutes
        // over a hostile PDF and cannot be interrupted.
        .executableTarget(
            name: "docflow-parse",
            dependencies: ["DocflowDocuments", "CSpawn"]
        ),
        .target(
            name: "DocflowEngine",
            dependencies: [
                "DocflowCore",
                "DocflowStore",
                "DocflowDocuments",
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "CoreMetrics", package: "swift-metrics"),
                .product(name: "Crypto", package: "swift-crypto"),
                "CCurl",
                "CSpawn",
            ]
        ),
        // What a platform service needs to call docflow: the API client and the names.
        .target(
            name: "DocflowClient",
            dependencies: ["AMQPClient", "DocflowCore"]
        ),
        // The client subcommands (call, watch, emit, cron): they speak AMQP, not SQL or HTTP.
        .target(
            name: "DocflowCLI",
            dependencies: [
                "DocflowClient",
                "AMQPClient",
                "DocflowCore",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        .target(
            name: "DocflowService",
            dependencies: [
                "AMQPClient",
                "DocflowClient",
                "DocflowEngine",
                "DocflowCore",
                "DocflowStore",
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "CoreMetrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
            ]
        ),
        .executableTarget(
            name: "docflow",
            dependencies: [
                "DocflowService",
                "DocflowStore",
                "DocflowCore",
                "DocflowCLI",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        // A load generator: docflow's throughput and latency against the broker's own ceiling.
        .executableTarget(
            name: "docflow-bench",
            dependencies: [
                "AMQPClient",
                "DocflowClient",
                "DocflowCore",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Histogram", package: "hdrhistogram-swift"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .testTarget(name: "DocflowCoreTests", dependencies: ["DocflowCore"]),
        .testTarget(
            name: "DocflowDocumentsTests",
            dependencies: [
                "DocflowDocuments", "DocflowCore", .product(name: "ZIPFoundation", package: "ZIPFoundation"),
            ]
        ),
        .testTarget(
            name: "DocflowEngineTests",
            dependencies: [
                "DocflowEngine", "DocflowCore", "DocflowStore", "DocflowDocuments",
                .product(name: "GRDB", package: "GRDB.swift"), .product(name: "Logging", package: "swift-log"),
                // sqlite3_stmt_status: the execution search tests count VM steps.
                .product(name: "GRDBSQLite", package: "GRDB.swift"),
                .product(name: "CoreMetrics", package: "swift-metrics"),
                .product(name: "ZIPFoundation", package: "ZIPFoundation"),
            ]
        ),
        .testTarget(
            name: "DocflowServiceTests",
            dependencies: [
                "DocflowService", "DocflowCore", "DocflowStore", "AMQPClient",
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .testTarget(name: "AMQPClientTests", dependencies: ["AMQPClient"]),
        .testTarget(
            name: "DocflowCLITests",
            dependencies: [
                "DocflowCLI", "DocflowClient", "DocflowCore", "AMQPClient",
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        // Reads Package.swift through `swift package dump-package`: the layers hold.
        .testTarget(name: "PackageShapeTests"),
        // Helpers the integration test targets share.
        .target(name: "DocflowTestSupport", dependencies: ["CSpawn"], path: "Tests/DocflowTestSupport"),
        .testTarget(
            name: "AMQPClientIntegrationTests",
            dependencies: ["AMQPClient", "DocflowTestSupport"]
        ),
        .testTarget(
            name: "DocflowIntegrationTests",
            dependencies: [
                "DocflowService", "DocflowClient", "DocflowEngine", "AMQPClient", "DocflowStore", "DocflowCore",
                "DocflowTestSupport",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
    ]
)
