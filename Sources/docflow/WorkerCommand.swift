import ArgumentParser
import DocflowCLI
import DocflowCore
import DocflowService

struct WorkerCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "worker",
        abstract:
            "Run parse, extract and integration steps for the prefix's engine (`docflow serve --dispatch ...`), taken from its task queues. Needs no database; start as many as wanted, on as many machines."
    )

    @OptionGroup var shared: SharedOptions

    @Option(help: "Comma-separated step types to take: parse, extract, integration (DOCFLOW_WORKER_TYPES).")
    var types = env("DOCFLOW_WORKER_TYPES", "parse,extract,integration")

    @Option(help: "Tasks of each type run at once (DOCFLOW_WORKER_CONCURRENCY).")
    var concurrency = Int(env("DOCFLOW_WORKER_CONCURRENCY", "8")) ?? 8

    func validate() throws {
        guard (1...1000).contains(concurrency) else { throw ValidationError("--concurrency must be 1...1000") }
        guard try !workerStepTypes(types, flag: "--types").isEmpty else {
            throw ValidationError("--types names no step type: parse, extract, integration")
        }
    }

    func run() async throws {
        let logger = bootstrapLogging(level: shared.logLevel, format: shared.format)
        var configuration = ServiceConfiguration()
        shared.apply(to: &configuration)
        let worker = try StepWorker(
            configuration: configuration, types: try workerStepTypes(types, flag: "--types"),
            concurrency: concurrency, logger: logger)
        try await worker.runUntilSignalled()
    }
}

/// The step types a comma-separated list names, each one a worker may run.
func workerStepTypes(_ list: String, flag: String) throws -> [StepType] {
    var types: [StepType] = []
    for name in list.split(separator: ",").map({ $0.trimmingCharacters(in: .whitespaces) }) where !name.isEmpty {
        guard let type = StepType(rawValue: name), [.parse, .extract, .integration].contains(type) else {
            throw ValidationError("\(flag): \(name) is not a step type workers run (parse, extract, integration)")
        }
        if !types.contains(type) { types.append(type) }
    }
    return types
}
