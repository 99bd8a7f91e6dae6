import DocflowCore
import DocflowService
import DocflowStore
import Foundation

#if canImport(FoundationNetworking)
    import FoundationNetworking
#endif

/// A TCP port nothing listens on right now, for a test server's HTTP port.
///
/// Picked below the kernel's ephemeral range (32768 and up on Linux): a port the kernel hands
/// out for `bind(0)` may be handed again to another test's server (tests run in parallel)
/// between this check and the test server's own bind; one from below the range never is.
func freePort() throws -> Int {
    for _ in 0..<100 {
        let port = Int.random(in: 20_000..<32_000)
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = UInt16(port).bigEndian
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let bound = withUnsafePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { generic in
                bind(fd, generic, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        if bound == 0 { return port }
    }
    throw TestFailure("cannot find a free port")
}

struct HTTPReply {
    let status: Int
    let body: JSONValue?
    let text: String
    var headers: [String: String] = [:]
}

/// The write key that every test server's database holds (`installTestAPIKey`), and that
/// `http` sends to `/api/*` unless told otherwise.
let testAPIKey = "dfk_tests000_TestKeyOfTheIntegrationTestsNeverUsedOutsideThem"

/// Stores `testAPIKey` in the database at `path` (created and migrated if needed), as
/// `docflow keys create --name tests --scope write` would store a key.
func installTestAPIKey(databasePath path: String) throws {
    let store = try Store(path: path)
    let parsed = APIKeys.parse(testAPIKey)!
    try store.pool.write { db in
        guard try APIKeyRepository.fetch(db, id: parsed.id) == nil else { return }
        try APIKeyRepository.insert(
            db,
            APIKeyRecord(
                id: parsed.id, name: "tests", scope: .write, secretSHA256: APIKeys.digest(parsed.secret),
                createdAt: Date()))
    }
}

/// One HTTP request to a test server on loopback; to `/api/*` with `testAPIKey` unless `headers`
/// carry an `Authorization` of their own or `authorized` is false.
func http(
    _ method: String, _ port: Int, _ path: String, body: Data? = nil, headers: [String: String] = [:],
    authorized: Bool = true
) async throws -> HTTPReply {
    var request = URLRequest(url: URL(string: "http://127.0.0.1:\(port)\(path)")!)
    request.httpMethod = method
    request.httpBody = body
    if authorized, path.hasPrefix("/api"), headers["Authorization"] == nil {
        request.setValue("Bearer \(testAPIKey)", forHTTPHeaderField: "Authorization")
    }
    for (name, value) in headers { request.setValue(value, forHTTPHeaderField: name) }
    if body != nil { request.setValue("application/json", forHTTPHeaderField: "Content-Type") }
    let (data, response) = try await URLSession.shared.data(for: request)
    let status = (response as? HTTPURLResponse)?.statusCode ?? 0
    var headers: [String: String] = [:]
    for (name, value) in (response as? HTTPURLResponse)?.allHeaderFields ?? [:] {
        if let name = name as? String, let value = value as? String { headers[name.lowercased()] = value }
    }
    return HTTPReply(
        status: status, body: try? JSONValue.parse(data), text: String(decoding: data, as: UTF8.self),
        headers: headers)
}

func http(
    _ method: String, _ port: Int, _ path: String, json: JSONValue, headers: [String: String] = [:],
    authorized: Bool = true
) async throws -> HTTPReply {
    try await http(method, port, path, body: json.encoded(), headers: headers, authorized: authorized)
}
