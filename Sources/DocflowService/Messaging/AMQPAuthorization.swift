/// Which broker users may call the API over AMQP, by the `user_id` property RabbitMQ checks
/// against the connection's login. Without lists, anyone the broker lets publish to the API
/// queue may call it; a list, once given, restricts its scope.
package struct AMQPAuthorization: Sendable, Equatable {
    /// May call `GET` routes (besides `writeUsers`); nil: anyone.
    package var readUsers: Set<String>?
    /// May call every route; nil: anyone.
    package var writeUsers: Set<String>?

    package init(readUsers: Set<String>? = nil, writeUsers: Set<String>? = nil) {
        self.readUsers = readUsers
        self.writeUsers = writeUsers
    }

    /// Refuses, with 403, a request whose broker user the lists do not name for its scope.
    package func check(_ request: APIRequest) throws(APIError) {
        let reading = request.method == "GET"
        let allowed: Set<String>?
        if reading {
            allowed = readUsers.map { $0.union(writeUsers ?? []) }
        } else {
            allowed = writeUsers
        }
        guard let allowed else { return }
        let scope = reading ? "read" : "write"
        let flag = reading ? "--amqp-read-users or --amqp-write-users" : "--amqp-write-users"
        guard request.caller.kind == .brokerUser else {
            throw APIError(
                status: 403, code: "forbidden",
                message:
                    "\(request.method) needs a broker user with \(scope) access: publish with the user_id property "
                    + "set to your broker login (\(flag) lists who may)")
        }
        guard allowed.contains(request.caller.name) else {
            throw APIError(
                status: 403, code: "forbidden",
                message: "broker user \"\(request.caller.name)\" may not \(request.method) here: \(flag) does not list it")
        }
    }
}
