/// Ordering of components by their HARD dependencies: start order, stop order, dependents.
///
/// Pure and deterministic (ties broken by name) so the supervisor's shutdown order is reproducible.
/// Dependencies on unknown components are ignored; a cycle does not trap: its members are appended in
/// name order after everything that could be ordered.
public enum DependencyOrder {
    /// Components ordered so that each comes after its HARD dependencies.
    ///
    /// - Parameter dependencies: component name → names of its HARD dependencies.
    public static func startOrder(_ dependencies: [String: [String]]) -> [String] {
        var remaining = Set(dependencies.keys)
        var placed = Set<String>()
        var order: [String] = []
        order.reserveCapacity(remaining.count)
        while !remaining.isEmpty {
            let ready = remaining.filter { name in
                dependencies[name, default: []].allSatisfy { placed.contains($0) || dependencies[$0] == nil || $0 == name }
            }.sorted()
            if ready.isEmpty {
                // A cycle: take the rest in name order rather than never stopping them.
                order.append(contentsOf: remaining.sorted())
                break
            }
            order.append(contentsOf: ready)
            placed.formUnion(ready)
            remaining.subtract(ready)
        }
        return order
    }

    /// Components ordered so that each stops before the components it depends on.
    public static func stopOrder(_ dependencies: [String: [String]]) -> [String] {
        startOrder(dependencies).reversed()
    }

    /// Every component that depends on `name`, directly or transitively, in stop order.
    public static func dependents(of name: String, in dependencies: [String: [String]]) -> [String] {
        var found = Set<String>()
        var queue = [name]
        while let current = queue.popLast() {
            for (candidate, deps) in dependencies where deps.contains(current) && !found.contains(candidate) && candidate != name {
                found.insert(candidate)
                queue.append(candidate)
            }
        }
        return stopOrder(dependencies).filter { found.contains($0) }
    }
}
