import Foundation
import Testing

/// The layers the house style draws, read from the manifest itself: the client side of docflow
/// (its API client, the client subcommands, the load generator) links no database and no HTTP
/// server; document parsing needs neither the store nor libcurl.
@Suite("Package shape")
struct TargetDependencyTests {
    @Test(arguments: ["DocflowClient", "DocflowCLI", "docflow-bench"])
    func clientSideTargetsLinkNeitherGRDBNorHummingbird(target: String) throws {
        let closure = try Manifest.shared.get().closure(of: target)
        #expect(closure.packages.isDisjoint(with: ["GRDB.swift", "hummingbird"]), "\(closure)")
        #expect(closure.targets.isDisjoint(with: ["DocflowStore", "DocflowEngine", "DocflowService"]), "\(closure)")
    }

    @Test func documentParsersNeedNeitherTheStoreNorCurl() throws {
        let closure = try Manifest.shared.get().closure(of: "DocflowDocuments")
        #expect(closure.packages.isDisjoint(with: ["GRDB.swift", "hummingbird"]), "\(closure)")
        #expect(closure.targets.isDisjoint(with: ["DocflowStore", "CCurl"]), "\(closure)")
    }

    @Test func theParserHelperLinksTheDocumentReadersAndNothingOfTheServers() throws {
        let closure = try Manifest.shared.get().closure(of: "docflow-parse")
        #expect(closure.targets.contains("DocflowDocuments"))
        #expect(closure.packages.isDisjoint(with: ["GRDB.swift", "hummingbird", "swift-nio"]), "\(closure)")
        #expect(
            closure.targets.isDisjoint(with: ["DocflowStore", "DocflowEngine", "CCurl", "CRabbitMQ"]), "\(closure)")
    }

    @Test func theBenchmarkStartsDocflowRatherThanLinkingIt() throws {
        let closure = try Manifest.shared.get().closure(of: "docflow-bench")
        #expect(!closure.targets.contains("DocflowService"))
        #expect(closure.targets.contains("DocflowClient"))
    }

    @Test func theServiceSharesTheClientsNames() throws {
        let closure = try Manifest.shared.get().closure(of: "DocflowService")
        #expect(closure.targets.isSuperset(of: ["DocflowClient", "DocflowEngine", "DocflowDocuments"]))
    }
}

/// Package.swift as `swift package dump-package` reads it: each target's direct dependencies.
struct Manifest: Sendable {
    /// A target's dependency closure: the package's own targets, and the packages whose products it uses.
    struct Closure: CustomStringConvertible {
        var targets: Set<String> = []
        var packages: Set<String> = []
        var description: String { "targets \(targets.sorted()), packages \(packages.sorted())" }
    }

    /// Target name → (targets it depends on, packages whose products it uses).
    let targets: [String: (targets: [String], packages: [String])]

    /// Read once for every test: `swift package` takes a second or more.
    static let shared = Result { try Manifest.load() }

    func closure(of root: String) -> Closure {
        var closure = Closure()
        var next = [root]
        while let name = next.popLast() {
            guard let target = targets[name] else { continue }
            closure.packages.formUnion(target.packages)
            for dependency in target.targets where closure.targets.insert(dependency).inserted {
                next.append(dependency)
            }
        }
        return closure
    }

    static func load() throws -> Manifest {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent()
        // A scratch path of its own: the package's `.build` is locked by the `swift test` running this.
        let scratch = FileManager.default.temporaryDirectory.appendingPathComponent(
            "docflow-dump-\(UUID().uuidString.prefix(8))")
        defer { try? FileManager.default.removeItem(at: scratch) }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = [
            "swift", "package", "--package-path", root.path, "--scratch-path", scratch.path, "dump-package",
        ]
        let output = Pipe()
        process.standardOutput = output
        process.standardError = FileHandle.nullDevice
        try process.run()
        let data = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        guard process.terminationStatus == 0,
            let json = try JSONSerialization.jsonObject(with: data) as? [String: Any],
            let targets = json["targets"] as? [[String: Any]]
        else {
            throw ManifestError("swift package dump-package failed with status \(process.terminationStatus)")
        }
        var byName: [String: (targets: [String], packages: [String])] = [:]
        for target in targets {
            guard let name = target["name"] as? String else { continue }
            var entry: (targets: [String], packages: [String]) = ([], [])
            for dependency in target["dependencies"] as? [[String: Any]] ?? [] {
                // {"byName": [name, condition]}, {"target": [name, condition]},
                // {"product": [name, package, moduleAliases, condition]}
                if let reference = (dependency["byName"] ?? dependency["target"]) as? [Any],
                    let dependencyName = reference.first as? String
                {
                    entry.targets.append(dependencyName)
                } else if let product = dependency["product"] as? [Any], product.count > 1,
                    let package = product[1] as? String
                {
                    entry.packages.append(package)
                }
            }
            byName[name] = entry
        }
        return Manifest(targets: byName)
    }
}

struct ManifestError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
