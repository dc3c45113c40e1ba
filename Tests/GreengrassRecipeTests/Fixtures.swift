import GreengrassJSON
import GreengrassRecipe
import Testing

/// Real-world recipes from the AWS IoT Greengrass developer guide, in both syntaxes.
enum Fixtures {
    /// The three required fields, for small hand-written recipes (three lines, ends with a newline).
    static func header(name: String = "c", version: String = "1.0.0") -> String {
        "RecipeFormatVersion: '2020-01-25'\nComponentName: \(name)\nComponentVersion: \(version)\n"
    }

    static let helloWorldYAML = """
        ---
        RecipeFormatVersion: '2020-01-25'
        ComponentName: com.example.HelloWorld
        ComponentVersion: '1.0.0'
        ComponentDescription: My first AWS IoT Greengrass component.
        ComponentPublisher: Amazon
        ComponentConfiguration:
          DefaultConfiguration:
            Message: world
        Manifests:
          - Platform:
              os: linux
            Lifecycle:
              Run: |
                python3 -u {artifacts:path}/hello_world.py "{configuration:/Message}"
          - Platform:
              os: windows
            Lifecycle:
              Run: |
                py -3 -u {artifacts:path}/hello_world.py "{configuration:/Message}"

        """

    static let helloWorldJSON = """
        {
          "RecipeFormatVersion": "2020-01-25",
          "ComponentName": "com.example.HelloWorld",
          "ComponentVersion": "1.0.0",
          "ComponentDescription": "My first AWS IoT Greengrass component.",
          "ComponentPublisher": "Amazon",
          "ComponentConfiguration": {
            "DefaultConfiguration": {
              "Message": "world"
            }
          },
          "Manifests": [
            {
              "Platform": {
                "os": "linux"
              },
              "Lifecycle": {
                "Run": "python3 -u {artifacts:path}/hello_world.py \\"{configuration:/Message}\\"\\n"
              }
            },
            {
              "Platform": {
                "os": "windows"
              },
              "Lifecycle": {
                "Run": "py -3 -u {artifacts:path}/hello_world.py \\"{configuration:/Message}\\"\\n"
              }
            }
          ]
        }
        """

    static let publisherYAML = """
        ---
        RecipeFormatVersion: '2020-01-25'
        ComponentName: com.example.IoTCorePublisherPython
        ComponentVersion: 1.0.0
        ComponentDescription: A component that publishes MQTT messages to IoT Core.
        ComponentPublisher: Amazon
        ComponentConfiguration:
          DefaultConfiguration:
            accessControl:
              aws.greengrass.ipc.mqttproxy:
                com.example.IoTCorePublisherPython:mqttproxy:1:
                  policyDescription: Allows access to publish to all topics.
                  operations:
                    - aws.greengrass#PublishToIoTCore
                  resources:
                    - "*"
        Manifests:
          - Platform:
              os: linux
            Lifecycle:
              install: python3 -m pip install --user awsiotsdk
              Run: python3 -u {artifacts:path}/iot_core_publisher.py
          - Platform:
              os: windows
            Lifecycle:
              install: py -3 -m pip install --user awsiotsdk
              Run: py -3 -u {artifacts:path}/iot_core_publisher.py
        """

    static let publisherJSON = """
        {
          "RecipeFormatVersion": "2020-01-25",
          "ComponentName": "com.example.IoTCorePublisherPython",
          "ComponentVersion": "1.0.0",
          "ComponentDescription": "A component that publishes MQTT messages to IoT Core.",
          "ComponentPublisher": "Amazon",
          "ComponentConfiguration": {
            "DefaultConfiguration": {
              "accessControl": {
                "aws.greengrass.ipc.mqttproxy": {
                  "com.example.IoTCorePublisherPython:mqttproxy:1": {
                    "policyDescription": "Allows access to publish to all topics.",
                    "operations": [
                      "aws.greengrass#PublishToIoTCore"
                    ],
                    "resources": [
                      "*"
                    ]
                  }
                }
              }
            }
          },
          "Manifests": [
            {
              "Platform": {
                "os": "linux"
              },
              "Lifecycle": {
                "install": "python3 -m pip install --user awsiotsdk",
                "Run": "python3 -u {artifacts:path}/iot_core_publisher.py"
              }
            },
            {
              "Platform": {
                "os": "windows"
              },
              "Lifecycle": {
                "install": "py -3 -m pip install --user awsiotsdk",
                "Run": "py -3 -u {artifacts:path}/iot_core_publisher.py"
              }
            }
          ]
        }
        """

    static let publisherAccessControl: JSONValue = [
        "accessControl": [
            "aws.greengrass.ipc.mqttproxy": [
                "com.example.IoTCorePublisherPython:mqttproxy:1": [
                    "policyDescription": "Allows access to publish to all topics.",
                    "operations": ["aws.greengrass#PublishToIoTCore"],
                    "resources": ["*"],
                ],
            ],
        ],
    ]

    /// Exercises dependencies, artifacts, selections and the global lifecycle.
    static let fullYAML = """
        RecipeFormatVersion: "2020-01-25"
        ComponentName: com.example.Full
        ComponentVersion: 2.1.0-beta.1
        ComponentType: aws.greengrass.generic
        ComponentDependencies:
          com.example.Lib:
            VersionRequirement: ">=1.0.0 <2.0.0"
            DependencyType: SOFT
          aws.greengrass.Nucleus:
            VersionRequirement: ^2.0.0
        Manifests:
          - Name: Linux ARM
            Platform:
              os: linux
              architecture: /arm.*/
            Selections: [arm, linux]
            Artifacts:
              - URI: s3://bucket/path/app-arm.zip
                Unarchive: ZIP
                Permission:
                  Read: ALL
                  Execute: OWNER
          - Platform:
              os: linux
            Selections: [linux]
            Artifacts:
              - Uri: s3://bucket/path/app.py
                Digest: abc=
                Algorithm: SHA-256
          - Platform:
              os: "*"
        Lifecycle:
          Setenv:
            MODE: global
          Install:
            Script:
              arm: ./install-arm.sh
              linux: ./install.sh
              all: ./install-generic.sh
            Timeout: 300
          Run:
            linux:
              Script: ./run {work:path}
              RequiresPrivilege: true
              Setenv:
                PORT: 8080
              Skipif: onpath docker
            all: echo unsupported
        """
}

/// Runs `body` and returns the `RecipeError` it throws (recording an issue if it does not throw one).
func recipeError(_ body: () throws -> Void, sourceLocation: SourceLocation = #_sourceLocation) -> RecipeError? {
    do {
        try body()
        Issue.record("expected a RecipeError", sourceLocation: sourceLocation)
    } catch let error as RecipeError {
        return error
    } catch {
        Issue.record("expected a RecipeError, got \(error)", sourceLocation: sourceLocation)
    }
    return nil
}

let linuxAMD64 = Platform.linux(machine: "x86_64")
