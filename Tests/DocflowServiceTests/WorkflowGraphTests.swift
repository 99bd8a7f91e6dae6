import DocflowCore
import Testing

@testable import DocflowService

/// The web console's drawing of a definition: one node per step and `end`, falling through to
/// the next step, `next` jumps, and a condition's two branches.
@Suite("Workflow graph")
struct WorkflowGraphTests {
    static let definition: JSONValue = [
        "steps": [
            ["id": "parse", "type": "parse", "config": [:]],
            [
                "id": "big", "type": "condition",
                "config": ["expression": ".total > 1", "then": "review", "else": "end"],
            ],
            ["id": "review", "type": "transform", "config": ["expression": "."], "next": "end"],
            ["id": "notify", "type": "integration", "config": [:]],
        ]
    ]

    @Test func everyStepAndTheEndAreNodesInDefinitionOrder() {
        let graph = WorkflowGraph(definition: Self.definition)
        #expect(graph.nodes.map(\.id) == ["parse", "big", "review", "notify", "end"])
        #expect(graph.nodes.map(\.row) == [0, 1, 2, 3, 4])
    }

    @Test func edgesFollowFallThroughNextAndBothBranches() {
        let graph = WorkflowGraph(definition: Self.definition)
        #expect(
            graph.edges == [
                .init(from: 0, to: 1, label: ""), .init(from: 1, to: 2, label: "then"),
                .init(from: 1, to: 4, label: "else"), .init(from: 2, to: 4, label: "next"),
                .init(from: 3, to: 4, label: ""),
            ])
    }

    @Test func theViewPlacesEveryNodeAndLabelsBranches() {
        let view = WorkflowGraph(definition: Self.definition).view(statuses: ["parse": "completed"])
        let nodes = view["nodes"]?.arrayValue ?? []
        #expect(nodes.count == 5)
        #expect(nodes.first?["status"] == "completed")
        #expect(nodes.last?["status"] == "")
        let labels = (view["edges"]?.arrayValue ?? []).compactMap { $0["label"]?.stringValue }
        #expect(labels == ["", "then", "else", "next", ""])
        let ys = nodes.compactMap { $0["y"]?.intValue }
        #expect(ys == ys.sorted() && Set(ys).count == 5)
        #expect((view["height"]?.intValue ?? 0) > ys.last ?? 0)
    }

    @Test func aTargetThatIsNoStepDrawsNoEdge() {
        let graph = WorkflowGraph(definition: ["steps": [["id": "a", "type": "transform", "next": "missing"]]])
        #expect(graph.edges.isEmpty)
        #expect(WorkflowGraph(definition: .null).nodes.map(\.id) == ["end"])
    }
}
