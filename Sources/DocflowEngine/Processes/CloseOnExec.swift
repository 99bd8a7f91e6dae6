import CSpawn

/// Keeps docflow's descriptors out of the programs it starts.
///
/// docflow's own code and its C libraries (SQLite, rabbitmq-c, curl) open every descriptor
/// close-on-exec, but swift-nio opens its epoll instances and its listening and accepted
/// sockets without, and offers no option to ask. A helper that inherited the listening socket
/// would keep docflow's port bound after docflow died. Helpers also close every descriptor
/// above 2 when they start; this is the rule for whatever else docflow may start.
package enum CloseOnExec {
    /// Marks every descriptor above 2 close-on-exec: one system call, cheap enough for each new
    /// connection and each helper started.
    package static func markAll() {
        _ = docflow_mark_cloexec_from(3)
    }
}
