/// Every GreengrassCoreIPC operation name, fully qualified as it travels in the `operation` header and as
/// `accessControl` policies name it: the one place these strings are written. The CLI operations are the cases of
/// ``GreengrassOperation``.
public enum IPCOperationName {
    /// The namespace of every GreengrassCoreIPC operation and shape.
    public static let namespace = "aws.greengrass#"

    // Local publish/subscribe (`aws.greengrass.ipc.pubsub`).
    public static let publishToTopic = "aws.greengrass#PublishToTopic"
    public static let subscribeToTopic = "aws.greengrass#SubscribeToTopic"

    // The IoT Core MQTT proxy (`aws.greengrass.ipc.mqttproxy`).
    public static let publishToIoTCore = "aws.greengrass#PublishToIoTCore"
    public static let subscribeToIoTCore = "aws.greengrass#SubscribeToIoTCore"
    public static let subscribeToIoTCoreConnectionStatus = "aws.greengrass#SubscribeToIoTCoreConnectionStatus"

    // Component configuration.
    public static let getConfiguration = "aws.greengrass#GetConfiguration"
    public static let updateConfiguration = "aws.greengrass#UpdateConfiguration"
    public static let subscribeToConfigurationUpdate = "aws.greengrass#SubscribeToConfigurationUpdate"
    public static let subscribeToValidateConfigurationUpdates = "aws.greengrass#SubscribeToValidateConfigurationUpdates"
    public static let sendConfigurationValidityReport = "aws.greengrass#SendConfigurationValidityReport"

    // Component lifecycle and updates.
    public static let updateState = "aws.greengrass#UpdateState"
    public static let pauseComponent = "aws.greengrass#PauseComponent"
    public static let resumeComponent = "aws.greengrass#ResumeComponent"
    public static let subscribeToComponentUpdates = "aws.greengrass#SubscribeToComponentUpdates"
    public static let deferComponentUpdate = "aws.greengrass#DeferComponentUpdate"

    // Metrics and tokens.
    public static let putComponentMetric = "aws.greengrass#PutComponentMetric"
    public static let validateAuthorizationToken = "aws.greengrass#ValidateAuthorizationToken"

    // Operations of other Greengrass components, named by `accessControl` policies only (this nucleus serves none).
    public static let createDebugPassword = "aws.greengrass#CreateDebugPassword"
    public static let getSecretValue = "aws.greengrass#GetSecretValue"
    public static let getThingShadow = "aws.greengrass#GetThingShadow"
    public static let updateThingShadow = "aws.greengrass#UpdateThingShadow"
    public static let deleteThingShadow = "aws.greengrass#DeleteThingShadow"
    public static let listNamedShadowsForThing = "aws.greengrass#ListNamedShadowsForThing"
    public static let subscribeToCertificateUpdates = "aws.greengrass#SubscribeToCertificateUpdates"
    public static let verifyClientDeviceIdentity = "aws.greengrass#VerifyClientDeviceIdentity"
    public static let getClientDeviceAuthToken = "aws.greengrass#GetClientDeviceAuthToken"
    public static let authorizeClientDeviceAction = "aws.greengrass#AuthorizeClientDeviceAction"

    /// `PublishToTopic` for `aws.greengrass#PublishToTopic`: the name people read in messages.
    public static func shortName(of operation: String) -> String {
        operation.hasPrefix(namespace) ? String(operation.dropFirst(namespace.count)) : operation
    }

    /// The request shape of `operation` (`aws.greengrass#PublishToTopicRequest`).
    public static func requestShape(of operation: String) -> String { operation + "Request" }
}
