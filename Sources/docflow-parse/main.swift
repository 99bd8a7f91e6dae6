// docflow-parse: parses one document for docflow in a process of its own.
//
// poppler can take gigabytes and minutes over a hostile PDF, and cannot be interrupted; in a
// process of its own, a parse is capped in memory and CPU, killed at its step's deadline, and
// gives every byte back when it ends.
//
// Protocol: one `ParseRequest` on stdin, one `ParseReply` (JSON) on stdout, then it exits.
//
// Usage: docflow-parse <pid of docflow> <address-space bytes> <CPU seconds>. It runs with an
// empty environment and only descriptors 0, 1 and 2, and dies with docflow.
import CSpawn
import DocflowDocuments
import Foundation

/// Caps `resource` at `value` (soft and hard); 0 leaves it as it is.
func limit(_ resource: __rlimit_resource, _ value: UInt64) {
    guard value > 0 else { return }
    var limit = rlimit(rlim_cur: rlim_t(value), rlim_max: rlim_t(value))
    if setrlimit(__rlimit_resource_t(resource.rawValue), &limit) != 0 { exit(3) }
}

/// Writes all of `data` to stdout.
func writeAll(_ data: Data) -> Bool {
    data.withUnsafeBytes { raw in
        var written = 0
        while written < raw.count {
            let n = write(1, raw.baseAddress! + written, raw.count - written)
            if n > 0 {
                written += n
            } else if n < 0, errno == EINTR {
                continue
            } else {
                return false
            }
        }
        return true
    }
}

/// Reads stdin until it holds a whole request.
func readRequest() -> ParseRequest? {
    var bytes: [UInt8] = []
    var chunk = [UInt8](repeating: 0, count: 1 << 16)
    while true {
        switch ParseRequest.decode(bytes) {
        case .request(let request): return request
        case .invalid: return nil
        case .incomplete: break
        }
        let n = chunk.withUnsafeMutableBytes { read(0, $0.baseAddress, $0.count) }
        if n > 0 {
            bytes.append(contentsOf: chunk[..<n])
        } else if n < 0, errno == EINTR {
            continue
        } else {
            return nil
        }
    }
}

// Whatever docflow left open without close-on-exec must not stay open here.
_ = docflow_close_from(3)
_ = docflow_set_parent_death_signal(SIGKILL)
let arguments = CommandLine.arguments
let parent = arguments.count > 1 ? pid_t(arguments[1]) ?? getppid() : getppid()
// docflow died before the prctl took effect.
if getppid() != parent { exit(1) }
// poppler's complaints about damaged files must not reach docflow's log.
let null = open("/dev/null", O_WRONLY)
if null >= 0, null != 2 {
    dup2(null, 2)
    close(null)
}
limit(RLIMIT_AS, arguments.count > 2 ? UInt64(arguments[2]) ?? 0 : 0)
limit(RLIMIT_CPU, arguments.count > 3 ? UInt64(arguments[3]) ?? 0 : 0)

guard let request = readRequest() else { exit(2) }
let reply: ParseReply
do throws(DocumentError) {
    reply = .document(
        try DocumentParser.parse(
            request.data, fileType: request.fileType, url: request.url, documentID: request.documentID))
} catch {
    reply = .failure(error)
}
exit(writeAll(reply.encoded()) ? 0 : 4)
