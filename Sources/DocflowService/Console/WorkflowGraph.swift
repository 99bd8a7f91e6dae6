import DocflowCore
import Foundation

/// A workflow definition laid out for an SVG drawing: its steps top to bottom in definition
/// order, then `end`; an edge to the next row drops straight down, a jump (`next`, a
/// condition's `then` and `else`) arcs around the side, `then` and `next` on the right, `else`
/// on the left. Works on the definition's JSON, as the API serves it.
struct WorkflowGraph: Equatable {
    struct Node: Equatable {
        var id: String
        var type: String
        var row: Int
    }

    struct Edge: Equatable {
        var from: Int
        var to: Int
        /// `then`, `else`, `next`, or "" for falling through to the following step.
        var label: String
    }

    var nodes: [Node]
    var edges: [Edge]

    static let nodeWidth = 200
    static let nodeHeight = 40
    static let rowHeight = 72
    static let centre = 280
    static let top = 16

    /// `definition` is `{"steps": [...]}`; the last node is `end`.
    init(definition: JSONValue) {
        let steps = definition["steps"]?.arrayValue ?? []
        var nodes: [Node] = []
        for (row, step) in steps.enumerated() {
            nodes.append(
                Node(id: step["id"]?.stringValue ?? "?", type: step["type"]?.stringValue ?? "", row: row))
        }
        let end = nodes.count
        nodes.append(Node(id: "end", type: "end", row: end))
        func row(_ target: String?) -> Int? {
            guard let target else { return nil }
            if target == "end" { return end }
            return nodes.firstIndex { $0.id == target && $0.row < end }
        }
        var edges: [Edge] = []
        for (index, step) in steps.enumerated() {
            if step["type"]?.stringValue == "condition" {
                for branch in ["then", "else"] {
                    if let to = row(step["config"]?[branch]?.stringValue) {
                        edges.append(Edge(from: index, to: to, label: branch))
                    }
                }
            } else if let next = step["next"]?.stringValue {
                if let to = row(next) { edges.append(Edge(from: index, to: to, label: to == index + 1 ? "" : "next")) }
            } else {
                edges.append(Edge(from: index, to: index + 1, label: ""))
            }
        }
        self.nodes = nodes
        self.edges = edges
    }

    /// The drawing as the Mustache template takes it: `width`, `height`, `nodes` and `edges`
    /// with coordinates; `statuses` (step id to status) colours the nodes of an execution.
    func view(statuses: [String: String] = [:]) -> JSONValue {
        let w = Self.nodeWidth
        let h = Self.nodeHeight
        let left = Self.centre - w / 2
        func y(_ row: Int) -> Int { Self.top + row * Self.rowHeight }
        let nodeViews: [JSONValue] = nodes.map { node in
            let label = node.id.count > 26 ? String(node.id.prefix(25)) + "…" : node.id
            return .object([
                "id": .string(node.id), "label": .string(label), "type": .string(node.type),
                "status": .string(statuses[node.id] ?? ""),
                "x": .number(Double(left)), "y": .number(Double(y(node.row))),
                "w": .number(Double(w)), "h": .number(Double(h)),
                "tx": .number(Double(Self.centre)), "ty": .number(Double(y(node.row) + 17)),
                "sy": .number(Double(y(node.row) + 32)),
            ])
        }
        var widest = Self.centre + w / 2
        let edgeViews: [JSONValue] = edges.map { edge in
            let straight = edge.to == edge.from + 1 && edge.label != "else"
            let path: String
            let labelX: Int
            let labelY: Int
            if straight {
                let x = Self.centre
                path = "M \(x) \(y(edge.from) + h) L \(x) \(y(edge.to) - 2)"
                labelX = x + 8
                labelY = y(edge.from) + h + 20
            } else {
                let rightSide = edge.label != "else"
                let span = abs(edge.to - edge.from)
                let bulge = min(40 + 16 * span, 200)
                let x = rightSide ? Self.centre + w / 2 : Self.centre - w / 2
                let out = rightSide ? x + bulge : x - bulge
                let y1 = y(edge.from) + h / 2
                let y2 = y(edge.to) + h / 2
                path = "M \(x) \(y1) C \(out) \(y1), \(out) \(y2), \(x + (rightSide ? 4 : -4)) \(y2)"
                labelX = rightSide ? x + bulge * 3 / 4 + 4 : x - bulge * 3 / 4 - 34
                labelY = (y1 + y2) / 2
                widest = max(widest, x + bulge + 20)
            }
            return .object([
                "d": .string(path), "label": .string(edge.label),
                "kind": .string(edge.label.isEmpty ? "flow" : edge.label),
                "lx": .number(Double(labelX)), "ly": .number(Double(labelY)),
            ])
        }
        return .object([
            "width": .number(Double(max(widest, Self.centre * 2))),
            "height": .number(Double(y(nodes.count - 1) + h + Self.top)),
            "nodes": .array(nodeViews), "edges": .array(edgeViews),
        ])
    }
}
