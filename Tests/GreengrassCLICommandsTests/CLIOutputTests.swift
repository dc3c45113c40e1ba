import ArgumentParser
import GreengrassIPCModel
import GreengrassJSON
import Testing

@testable import GreengrassCLICommands

@Suite("CLI output matches the AWS Greengrass CLI")
struct CLIOutputTests {
    @Test func componentListSkipsMainAndPrintsFourLineBlocks() {
        let text = CLIOutput.componentList([
            ComponentDetails(componentName: "main", version: nil, state: .running, configuration: nil),
            ComponentDetails(componentName: "com.example.Hello", version: "1.0.0", state: .running, configuration: ["b": 1, "a": "x/y"]),
            ComponentDetails(componentName: "aws.greengrass.Nucleus", version: nil, state: .finished, configuration: nil),
        ])
        #expect(text == """
            Components currently running in Greengrass:
            Component Name: com.example.Hello
                Version: 1.0.0
                State: RUNNING
                Configuration: {"a":"x/y","b":1}
            Component Name: aws.greengrass.Nucleus
                Version: null
                State: FINISHED
                Configuration: null

            """)
    }

    @Test func deploymentListAndStatus() {
        let succeeded = LocalDeployment(deploymentId: "id-1", status: .succeeded, createdOn: "1704164645678", deploymentStatusDetails: nil)
        let failed = LocalDeployment(
            deploymentId: "id-2", status: .failed, createdOn: "0",
            deploymentStatusDetails: DeploymentStatusDetails(
                detailedDeploymentStatus: .failedRollbackNotRequested, deploymentErrorStack: ["DEPLOYMENT_FAILURE", "COMPONENT_BROKEN"],
                deploymentErrorTypes: ["USER_COMPONENT_ERROR"], deploymentFailureCause: "Service A is broken"))
        #expect(CLIOutput.deploymentList([succeeded, failed]) == """
            Deployment ID: id-1
            Created on: 02-01-2024 03:04:05 UTC
            Status: SUCCEEDED

            Deployment ID: id-2
            Created on: 01-01-1970 00:00:00 UTC
            Status: FAILED

            """)
        #expect(CLIOutput.deploymentStatus(succeeded) == "id-1: SUCCEEDED\nCreated on: 02-01-2024 03:04:05 UTC\n")
        #expect(CLIOutput.deploymentStatus(failed) == """
            id-2: FAILED
            Created on: 01-01-1970 00:00:00 UTC
            Detailed Status: FAILED_ROLLBACK_NOT_REQUESTED
            Deployment Error Stack: DEPLOYMENT_FAILURE, COMPONENT_BROKEN
            Deployment Error Types: USER_COMPONENT_ERROR
            Deployment Failure Cause: Service A is broken

            """)
    }

    @Test(arguments: [
        ("a,b", ["a", "b"]), ("a&b", ["a", "b"]), (" a , b ,", ["a", "b"]), ("single", ["single"]),
    ])
    func namesSplitOnCommaAndAmpersand(input: String, expected: [String]) {
        #expect(CLIOutput.splitNames(input) == expected)
    }

    @Test func createdOnKeepsUnparseableValues() {
        #expect(CLIOutput.createdOn(nil) == "null")
        #expect(CLIOutput.createdOn("yesterday") == "yesterday")
        #expect(CLIOutput.createdOn("-1") == "31-12-1969 23:59:59 UTC")
    }
}

@Suite("deployment create flags")
struct DeploymentRequestTests {
    let builder = DeploymentRequestBuilder(currentDirectory: "/home/me")

    func build(_ arguments: [String]) throws -> CreateLocalDeploymentRequest {
        let command = try #require(try GreengrassCLI.parseAsRoot(["deployment", "create"] + arguments) as? DeploymentCommand.Create)
        return try builder.build(
            recipeDir: command.recipeDir, artifactDir: command.artifactDir, merge: command.merge, remove: command.remove,
            groupId: command.groupId, updateConfig: command.updateConfig, runWith: command.runWith,
            systemLimits: command.systemLimits, failureHandlingPolicy: command.failureHandlingPolicy,
            notifyComponentsTimeout: command.notifyComponents)
    }

    @Test func notifyComponentsSelectsTheNotifyPolicyWithItsTimeout() throws {
        #expect(try build(["-m", "A=1.0.0"]).componentUpdatePolicy == nil)  // Greengrass's local default: skip
        #expect(try build(["-m", "A=1.0.0", "--notify-components", "45"]).componentUpdatePolicy
            == ComponentUpdatePolicy(action: .notifyComponents, timeoutInSeconds: 45))
        #expect(throws: (any Error).self) { try GreengrassCLI.parseAsRoot(["deployment", "create", "-m", "A=1.0.0", "--notify-components", "-1"]) }
        #expect(throws: (any Error).self) { try GreengrassCLI.parseAsRoot(["deployment", "create", "-m", "A=1.0.0", "--notify-components"]) }
    }

    @Test func awsDocsExampleParses() throws {
        let request = try build([
            "--recipeDir", "recipes", "--artifactDir", "/abs/artifacts", "--merge", "com.example.HelloWorld=1.0.0",
            "-m", "Other=2.0.0", "--remove", "Old",
        ])
        #expect(request.recipeDirectoryPath == "/home/me/recipes")
        #expect(request.artifactsDirectoryPath == "/abs/artifacts")
        #expect(request.rootComponentVersionsToAdd == ["com.example.HelloWorld": "1.0.0", "Other": "2.0.0"])
        #expect(request.rootComponentsToRemove == ["Old"])
        #expect(request.failureHandlingPolicy == nil)
    }

    @Test(arguments: [
        (["--remove", "A,B"], ["A", "B"]),
        (["--remove", "A, B", "--remove", "C"], ["A", "B", "C"]),
        (["--remove", "A&B,"], ["A", "B"]),
        (["--remove", "Single"], ["Single"]),
    ])
    func removeTakesACommaSeparatedList(arguments: [String], expected: [String]) throws {
        #expect(try build(arguments).rootComponentsToRemove == expected)
    }

    @Test func mergeTakesOneComponentPerFlagAndSaysSo() throws {
        let error = try #require(throws: ValidationError.self) { try build(["--merge", "A=1.0.0,B=2.0.0"]) }
        #expect(error.message.contains("repeat --merge for each component"))
        #expect(try build(["--merge", "A=1.0.0", "--merge", "B=2.0.0"]).rootComponentVersionsToAdd == ["A": "1.0.0", "B": "2.0.0"])
    }

    @Test func removeWithOnlySeparatorsIsRejected() {
        #expect(throws: ValidationError.self) { try build(["--remove", ","]) }
    }

    @Test func shortFlagsAndPolicy() throws {
        let request = try build(["-r", "/r", "-a", "/a", "-m", "A=1.0.0", "-fp", "rollback", "-g", "group1"])
        #expect(request.recipeDirectoryPath == "/r")
        #expect(request.groupName == "group1")
        #expect(request.failureHandlingPolicy == .rollback)
    }

    @Test func updateConfigAndRunWith() throws {
        let request = try build([
            "-m", "A=1.0.0", "--update-config", #"{"A":{"MERGE":{"topic":"x","n":2},"RESET":["/old"]}}"#,
            "--runWith", "A:posixUser=ggc_user:ggc_group", "--systemLimits", #"{"A":{"memory":1024,"cpus":0.5}}"#,
        ])
        #expect(request.componentToConfiguration?["A"] == ConfigurationUpdate(merge: ["topic": "x", "n": 2], reset: ["/old"]))
        #expect(request.componentToRunWithInfo?["A"]?.posixUser == "ggc_user:ggc_group")
        #expect(request.componentToRunWithInfo?["A"]?.systemResourceLimits == SystemResourceLimits(memory: 1024, cpus: 0.5))
    }

    @Test(arguments: [
        ["-m", "NoVersion"], ["-m", "=1.0.0"], ["-m", "A=1.0.0", "--runWith", "A:user=x"],
        ["-m", "A=1.0.0", "--update-config", "{not json"], ["-m", "A=1.0.0", "--update-config", "/no/such/file.json"],
    ])
    func badFlagsAreRejectedWithTheFlagName(arguments: [String]) {
        #expect(throws: (any Error).self) { try build(arguments) }
    }

    @Test func emptyDeploymentIsRejected() {
        #expect(throws: (any Error).self) { try GreengrassCLI.parseAsRoot(["deployment", "create"]) }
        #expect(throws: (any Error).self) { try GreengrassCLI.parseAsRoot(["deployment", "create", "-m", "A=1", "-fp", "maybe"]) }
    }

    @Test func globalRootOptionWorksBeforeTheSubcommand() throws {
        let command = try #require(try GreengrassCLI.parseAsRoot(GreengrassCLI.normalizedArguments(["--ggcRootPath", "/gg", "component", "list"])) as? ComponentCommand.List)
        #expect(command.global.root == "/gg")
        let other = try #require(try GreengrassCLI.parseAsRoot(["component", "details", "--root", "/x", "-n", "A"]) as? ComponentCommand.Details)
        #expect(other.global.root == "/x")
        #expect(other.name == "A")
        #expect(GreengrassCLI.normalizedArguments(["--root=/r", "deployment", "list"]) == ["deployment", "list", "--root=/r"])
        #expect(GreengrassCLI.normalizedArguments(["component", "list"]) == ["component", "list"])
    }
}

@Suite("root directory lookup")
struct RootLocatorTests {
    @Test func precedence() {
        let exists: (String) -> Bool = { $0 == "/opt/gg/ipc.socket" }
        #expect(RootLocator.locate(explicit: "/a", environment: ["GGC_ROOT_PATH": "/b"], executablePath: "/opt/gg/bin/greengrass-cli", fileExists: exists) == "/a")
        #expect(RootLocator.locate(explicit: nil, environment: ["GGC_ROOT_PATH": "/b"], executablePath: "/opt/gg/bin/greengrass-cli", fileExists: exists) == "/b")
        #expect(RootLocator.locate(explicit: nil, environment: [:], executablePath: "/opt/gg/bin/greengrass-cli", fileExists: exists) == "/opt/gg")
        #expect(RootLocator.locate(explicit: nil, environment: [:], executablePath: "/usr/local/bin/greengrass-cli", fileExists: exists) == "/greengrass/v2")
        #expect(RootLocator.locate(explicit: nil, environment: [:], executablePath: nil, fileExists: exists) == "/greengrass/v2")
    }
}

@Suite("short flags as in the AWS CLI")
struct ShortFlagTests {
    @Test func statusTakesDashI() throws {
        let command = try #require(try GreengrassCLI.parseAsRoot(["deployment", "status", "-i", "abc"]) as? DeploymentCommand.Status)
        #expect(command.deploymentId == "abc")
        let long = try #require(try GreengrassCLI.parseAsRoot(["deployment", "status", "--deploymentId", "x"]) as? DeploymentCommand.Status)
        #expect(long.deploymentId == "x")
    }

    @Test func componentCommandsTakeDashN() throws {
        #expect((try GreengrassCLI.parseAsRoot(["component", "details", "-n", "A"]) as? ComponentCommand.Details)?.name == "A")
        #expect((try GreengrassCLI.parseAsRoot(["component", "restart", "-n", "A,B"]) as? ComponentCommand.Restart)?.names == "A,B")
        #expect((try GreengrassCLI.parseAsRoot(["component", "stop", "--names", "A"]) as? ComponentCommand.Stop)?.names == "A")
    }
}
