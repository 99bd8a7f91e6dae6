import ArgumentParser
import DocflowCLI

@main
struct Docflow: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "docflow",
        abstract: "Runs document-processing workflows for the document platform, over RabbitMQ.",
        subcommands: [
            Serve.self, WorkerCommand.self, Keys.self, Call.self, Watch.self, Emit.self, Cron.self, DeadLetters.self,
        ])
}
