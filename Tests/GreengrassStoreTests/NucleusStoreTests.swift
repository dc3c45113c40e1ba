import GreengrassIPCModel
import GreengrassJSON
import GreengrassStore
import Testing

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

@Suite("NucleusStore")
struct NucleusStoreTests {
    let directory: String

    init() throws {
        directory = FileManager.default.temporaryDirectory.path + "/store-test-\(UInt64.random(in: 0...UInt64.max))"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
    }

    func component(_ name: String, _ version: String, root: Bool = true, configuration: JSONValue = [:]) -> DeployedComponent {
        DeployedComponent(
            name: name, version: version, isRoot: root, groupName: "LOCAL_DEPLOYMENT",
            recipePath: "/r/\(name)-\(version).recipe.yaml", configuration: configuration, runWith: nil)
    }

    @Test func deployedSetSurvivesReopen() throws {
        let path = directory + "/nucleus.db"
        do {
            let store = try NucleusStore(path: path)
            try store.insertDeployment(id: "d1", groupName: "LOCAL_DEPLOYMENT", request: CreateLocalDeploymentRequest(rootComponentVersionsToAdd: ["A": "1.0.0"]), createdOn: 1000)
            try store.beginDeployment(id: "d1", now: 1001)
            try store.commitDeployedSet(
                [component("A", "1.0.0", configuration: ["topic": "core/topic", "n": 3]), component("B", "2.0.0", root: false)],
                deploymentID: "d1", status: .succeeded, details: DeploymentStatusDetails(detailedDeploymentStatus: .successful), now: 1002)
        }
        let reopened = try NucleusStore(path: path)
        let components = try reopened.deployedComponents()
        #expect(components.map(\.name) == ["A", "B"])
        #expect(components[0].configuration == ["topic": "core/topic", "n": 3])
        #expect(components[1].isRoot == false)
        let record = try #require(try reopened.deployment(id: "d1"))
        #expect(record.status == .succeeded)
        #expect(record.rollbackSnapshot == [])
        #expect(record.request.rootComponentVersionsToAdd == ["A": "1.0.0"])
        #expect(try reopened.integrityCheck())
    }

    @Test func rollbackSnapshotIsTheSetBeforeTheDeployment() throws {
        let store = try NucleusStore(path: directory + "/nucleus.db")
        try store.insertDeployment(id: "d1", groupName: "g", request: .init(), createdOn: 1)
        try store.beginDeployment(id: "d1", now: 1)
        try store.commitDeployedSet([component("A", "1.0.0")], deploymentID: "d1", status: .succeeded, details: nil, now: 2)
        try store.insertDeployment(id: "d2", groupName: "g", request: .init(), createdOn: 3)
        try store.beginDeployment(id: "d2", now: 4)
        #expect(try store.deployment(id: "d2")?.rollbackSnapshot == [component("A", "1.0.0")])
        #expect(try store.deployments(withStatus: [.inProgress]).map(\.id) == ["d2"])
        #expect(try store.deployments().map(\.id) == ["d1", "d2"])
    }

    @Test func resumedDeploymentKeepsItsFirstRollbackSnapshot() throws {
        let store = try NucleusStore(path: directory + "/nucleus.db")
        try store.insertDeployment(id: "d0", groupName: "g", request: .init(), createdOn: 1)
        try store.commitDeployedSet([component("A", "1.0.0")], deploymentID: "d0", status: .succeeded, details: nil, now: 1)
        try store.insertDeployment(id: "d1", groupName: "g", request: .init(), createdOn: 2)
        try store.beginDeployment(id: "d1", now: 3)
        try store.commitDeployedSet([component("A", "2.0.0")], deploymentID: "d1", status: .inProgress, details: nil, now: 4)
        // The nucleus crashed here; the restarted one begins the same deployment again.
        try store.beginDeployment(id: "d1", now: 5)
        #expect(try store.deployment(id: "d1")?.rollbackSnapshot == [component("A", "1.0.0")])
    }

    @Test func configurationUpdateOfUnknownComponentIsAnError() throws {
        let store = try NucleusStore(path: directory + "/nucleus.db")
        #expect(throws: StoreError.self) { try store.setConfiguration(["a": 1], ofComponent: "Nope") }
    }

    @Test func pruneKeepsNewestFinishedDeployments() throws {
        let store = try NucleusStore(path: directory + "/nucleus.db")
        for index in 1...5 {
            try store.insertDeployment(id: "d\(index)", groupName: "g", request: .init(), createdOn: Int64(index))
            try store.finishDeployment(id: "d\(index)", status: .succeeded, details: nil, now: Int64(index))
        }
        try store.insertDeployment(id: "queued", groupName: "g", request: .init(), createdOn: 9)
        try store.pruneDeployments(keep: 2)
        #expect(try store.deployments().map(\.id) == ["d4", "d5", "queued"])
    }

    @Test func processGroupsAndInstallsAreRemembered() throws {
        let store = try NucleusStore(path: directory + "/nucleus.db")
        try store.recordProcessGroup(4242, component: "A", now: 1)
        try store.recordInstalled(name: "A", version: "1.0.0", now: 1)
        #expect(try store.processGroups().map(\.pgid) == [4242])
        #expect(try store.installedVersion(of: "A") == "1.0.0")
        try store.forgetProcessGroup(4242)
        #expect(try store.processGroups().isEmpty)
    }

    @Test func documentsRoundTrip() throws {
        let store = try NucleusStore(path: directory + "/nucleus.db")
        #expect(try store.document(named: "nucleus") == nil)
        try store.setDocument(["system": ["thingName": "dev1"]], named: "nucleus")
        try store.setDocument(["system": ["thingName": "dev2"]], named: "nucleus")
        #expect(try store.document(named: "nucleus") == ["system": ["thingName": "dev2"]])
    }
}
