import GreengrassIPCModel
import GreengrassJSON
import GreengrassStore

/// What `Tests/Fixtures/store/grdb-v1/nucleus.db` holds: the store a nucleus built with GRDB (the release before
/// the store moved onto the system SQLite) wrote when these calls were made through its `NucleusStore`. The
/// fixture tests read that file with the current store and expect exactly these values back.
enum OldStoreFixture {
    static let configurationTree: JSONValue = [
        "system": ["thingName": "fixture-thing", "rootpath": "/greengrass/v2"],
        "services": [
            "aws.greengrass.Nucleus": [
                "configuration": ["runWithDefault": ["posixUser": "ggc_user:ggc_group"], "logging": ["level": "INFO"]],
            ],
        ],
        "setenv": ["PATH": "/usr/bin:/bin", "ÜNICODE": "grüße ✓"],
    ]
    static let runRecord: JSONValue = ["bootId": "5f1c3c52-9a1e-4a53-a4a4-0b3e6c1d2e7f"]

    static let runWith = RunWithInfo(posixUser: "app:app", systemResourceLimits: SystemResourceLimits(memory: 102_400, cpus: 0.5))

    /// The set the first deployment committed (the rollback snapshot of the one in progress).
    static let firstSet: [DeployedComponent] = [
        DeployedComponent(
            name: "com.example.Hello", version: "1.0.0", isRoot: true, groupName: "LOCAL_DEPLOYMENT",
            recipePath: "/greengrass/v2/packages/recipes/com.example.Hello-1.0.0.recipe.yaml",
            configuration: ["message": "hi", "count": 3], runWith: nil),
        DeployedComponent(
            name: "com.example.Lib", version: "0.9.1", isRoot: false, groupName: nil,
            recipePath: "/greengrass/v2/packages/recipes/com.example.Lib-0.9.1.recipe.yaml",
            configuration: [:], runWith: nil),
    ]

    /// The set the in-progress deployment committed before the nucleus stopped.
    static let secondSet: [DeployedComponent] = [
        DeployedComponent(
            name: "com.example.Hello", version: "2.0.0", isRoot: true, groupName: "LOCAL_DEPLOYMENT",
            recipePath: "/greengrass/v2/packages/recipes/com.example.Hello-2.0.0.recipe.yaml",
            configuration: [
                "message": "héllo \"world\" / ✓", "count": 42, "ratio": 0.25, "enabled": true, "nothing": nil,
                "nested": ["list": [1, "two", ["three": 3]], "empty": []],
            ],
            runWith: runWith),
        DeployedComponent(
            name: "com.example.Lib", version: "1.0.0", isRoot: false, groupName: nil,
            recipePath: "/greengrass/v2/packages/recipes/com.example.Lib-1.0.0.recipe.yaml",
            configuration: [:], runWith: nil),
    ]

    /// The configuration `UpdateConfiguration` gave the Lib component after the set was committed.
    static let updatedLibConfiguration: JSONValue = ["mode": "fast", "limits": ["max": 9_007_199_254_740_991]]

    /// The deployed set as stored at the end (secondSet, then the configuration update).
    static var finalSet: [DeployedComponent] {
        var set = secondSet
        set[1].configuration = updatedLibConfiguration
        return set
    }

    static let queuedRequest = CreateLocalDeploymentRequest(
        groupName: "thinggroup/fixture",
        rootComponentVersionsToAdd: ["com.example.Hello": "3.0.0", "com.example.New": "0.1.0"],
        rootComponentsToRemove: ["com.example.Old"],
        componentToConfiguration: [
            "com.example.Hello": ConfigurationUpdate(merge: ["message": "merged"], reset: ["/count", "/nested/list"]),
        ],
        componentToRunWithInfo: ["com.example.New": runWith],
        recipeDirectoryPath: "/tmp/recipes",
        artifactsDirectoryPath: "/tmp/artifacts",
        failureHandlingPolicy: .doNothing)

    static let succeededDetails = DeploymentStatusDetails(detailedDeploymentStatus: .successful)
    static let failedDetails = DeploymentStatusDetails(
        detailedDeploymentStatus: .failedRollbackComplete,
        deploymentErrorStack: ["DEPLOYMENT_FAILURE", "COMPONENT_UPDATE_ERROR", "COMPONENT_BROKEN"],
        deploymentErrorTypes: ["COMPONENT_ERROR"],
        deploymentFailureCause: "com.example.Hello errored during install: exit code 1")

    /// One expected deployment row: `(id, sequence, createdOn, status, groupName, request, details, rollbackSnapshot)`.
    struct Deployment {
        var id: String
        var createdOn: Int64
        var status: DeploymentStatus
        var groupName: String
        var request: CreateLocalDeploymentRequest
        var details: DeploymentStatusDetails?
        var rollbackSnapshot: [DeployedComponent]?
    }

    /// Deployment history, oldest first (sequence 1, 2, …).
    static let deployments: [Deployment] = [
        Deployment(
            id: "d-succeeded", createdOn: 1_700_000_000_001, status: .succeeded, groupName: "LOCAL_DEPLOYMENT",
            request: CreateLocalDeploymentRequest(rootComponentVersionsToAdd: ["com.example.Hello": "1.0.0"]),
            details: succeededDetails, rollbackSnapshot: []),
        Deployment(
            id: "d-failed", createdOn: 1_700_000_000_010, status: .failed, groupName: "LOCAL_DEPLOYMENT",
            request: CreateLocalDeploymentRequest(rootComponentVersionsToAdd: ["com.example.Hello": "1.5.0"]),
            details: failedDetails, rollbackSnapshot: firstSet),
        Deployment(
            id: "d-canceled", createdOn: 1_700_000_000_020, status: .canceled, groupName: "thinggroup/other",
            request: CreateLocalDeploymentRequest(rootComponentsToRemove: ["com.example.Hello"]),
            details: nil, rollbackSnapshot: nil),
        Deployment(
            id: "d-in-progress", createdOn: 1_700_000_000_030, status: .inProgress, groupName: "LOCAL_DEPLOYMENT",
            request: CreateLocalDeploymentRequest(rootComponentVersionsToAdd: ["com.example.Hello": "2.0.0"]),
            details: nil, rollbackSnapshot: firstSet),
        Deployment(
            id: "d-queued", createdOn: 1_700_000_000_040, status: .queued, groupName: "thinggroup/fixture",
            request: queuedRequest, details: nil, rollbackSnapshot: nil),
    ]

    static let installed: [(name: String, version: String)] = [("com.example.Hello", "2.0.0"), ("com.example.Lib", "1.0.0")]
    static let processGroups: [(pgid: Int32, component: String)] = [(31337, "com.example.Hello"), (2_147_483_000, "com.example.Lib")]

    /// The calls that made the fixture, in the order the deployment queue would make them.
    static func populate(_ store: NucleusStore) throws {
        try store.setDocument(["system": ["thingName": "before-update"]], named: "nucleus")
        try store.setDocument(configurationTree, named: "nucleus")
        try store.setDocument(runRecord, named: "nucleusRun")

        let (succeeded, failed, canceled, inProgress, queued) = (deployments[0], deployments[1], deployments[2], deployments[3], deployments[4])
        for deployment in [succeeded, failed, canceled, inProgress, queued] {
            try store.insertDeployment(id: deployment.id, groupName: deployment.groupName, request: deployment.request, createdOn: deployment.createdOn)
        }
        try store.beginDeployment(id: succeeded.id, now: succeeded.createdOn + 1)
        try store.commitDeployedSet(firstSet, deploymentID: succeeded.id, status: .succeeded, details: succeededDetails, now: succeeded.createdOn + 2)

        try store.beginDeployment(id: failed.id, now: failed.createdOn + 1)
        try store.commitDeployedSet(secondSet, deploymentID: failed.id, status: .inProgress, details: nil, now: failed.createdOn + 2)
        try store.commitDeployedSet(firstSet, deploymentID: failed.id, status: .inProgress, details: nil, now: failed.createdOn + 3)
        try store.finishDeployment(id: failed.id, status: .failed, details: failedDetails, now: failed.createdOn + 4)

        try store.finishDeployment(id: canceled.id, status: .canceled, details: nil, now: canceled.createdOn + 1)

        try store.beginDeployment(id: inProgress.id, now: inProgress.createdOn + 1)
        try store.commitDeployedSet(secondSet, deploymentID: inProgress.id, status: .inProgress, details: nil, now: inProgress.createdOn + 2)
        try store.setConfiguration(updatedLibConfiguration, ofComponent: "com.example.Lib")

        try store.recordInstalled(name: "com.example.Hello", version: "1.0.0", now: 1)
        try store.recordInstalled(name: "com.example.Gone", version: "0.0.1", now: 2)
        for (name, version) in installed { try store.recordInstalled(name: name, version: version, now: 3) }
        try store.forgetInstalled(name: "com.example.Gone")

        try store.recordProcessGroup(999, component: "com.example.Exited", now: 4)
        for (pgid, component) in processGroups { try store.recordProcessGroup(pgid, component: component, now: 5) }
        try store.forgetProcessGroup(999)
    }
}
