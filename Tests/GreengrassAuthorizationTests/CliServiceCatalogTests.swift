import GreengrassAuthorization
import Testing

/// The Cli component registers every CLI operation, `CancelLocalDeployment` included (its `CLIService` sets
/// `CancelLocalDeploymentHandler`), so a policy naming it loads.
@Suite("Authorization catalog: aws.greengrass.Cli")
struct CliServiceCatalogTests {
    @Test func theCliServiceRegistersCancelLocalDeployment() {
        let operations = AuthorizationServiceCatalog.greengrass.operations[IPCAuthorizationService.cli] ?? []
        #expect(operations.contains("aws.greengrass#CancelLocalDeployment"))
        #expect(operations.count == 9)
    }
}
