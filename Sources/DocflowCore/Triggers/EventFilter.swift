/// Whether an event's `data` passes a workflow's `trigger_config.filters` (contract section 2):
/// every filter key must be present in the data and equal to the filter's value, or to one of
/// its values when the filter is an array. No filters match everything.
public enum EventFilter {
    public static func matches(_ filters: [String: JSONValue], _ data: [String: JSONValue]) -> Bool {
        for (key, expected) in filters {
            guard let actual = data[key] else { return false }
            switch expected {
            case .array(let options):
                if !options.contains(actual) { return false }
            default:
                if actual != expected { return false }
            }
        }
        return true
    }
}
