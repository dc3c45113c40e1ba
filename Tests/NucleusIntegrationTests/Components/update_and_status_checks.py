"""IPC checks with the unmodified AWS IoT Device SDK (clientv2) for component updates, connection status,
component metrics and the CLI operations. The first argument picks the role:

- `record`: subscribes to component updates and only reports the events it gets;
- `defer-twice`: defers the first two PreComponentUpdateEvents (recheckAfterMs 3000), then lets the update go;
- `silent`: subscribes and never answers;
- `checks`: PutComponentMetric, CLI operations and SubscribeToIoTCoreConnectionStatus (whose events it keeps
  reporting).

Prints `SUBSCRIBED`, `EVENT pre <deploymentId> <isGgcRestarting>`, `EVENT post <deploymentId>`, `STATUS <s>`,
`CHECK <name> ok|FAILED <reason>` and `CHECKS DONE` lines on stdout (the component log), then stays alive.
"""
import sys
import threading
import time
import traceback

from awsiot.greengrasscoreipc.clientv2 import GreengrassCoreIPCClientV2
from awsiot.greengrasscoreipc.model import (
    InvalidArgumentsError,
    Metric,
    ServiceError,
    UnauthorizedError,
)


def say(text):
    print(text, flush=True)


def check(name, function):
    try:
        function()
        say(f"CHECK {name} ok")
    except Exception as error:  # report every failure, keep going
        say(f"CHECK {name} FAILED {error!r}")
        traceback.print_exc()


def expect_error(kind, function):
    try:
        function()
    except kind as error:
        return error
    raise AssertionError(f"expected {kind.__name__}")


def updates(client, role):
    answered = [0]

    def on_event(event):
        if event.pre_update_event is not None:
            pre = event.pre_update_event
            say(f"EVENT pre {pre.deployment_id} {pre.is_ggc_restarting}")
            if role == "defer-twice":
                answered[0] += 1
                recheck = 3000 if answered[0] <= 2 else 0
                threading.Thread(
                    target=lambda: client.defer_component_update(
                        deployment_id=pre.deployment_id, message="busy", recheck_after_ms=recheck)
                ).start()
                say(f"DEFER {answered[0]} {recheck}")
        if event.post_update_event is not None:
            say(f"EVENT post {event.post_update_event.deployment_id}")

    client.subscribe_to_component_updates(on_stream_event=on_event)
    say("SUBSCRIBED")


def checks(client):
    name = sys.argv[2]

    def metrics():
        client.put_component_metric(metrics=[Metric(name="cpu", unit="COUNT", value=12.5)])
        expect_error(UnauthorizedError, lambda: client.put_component_metric(metrics=[Metric(name="mem", unit="BYTES", value=1)]))
        expect_error(InvalidArgumentsError, lambda: client.put_component_metric(metrics=[Metric(name="cpu", unit="COUNT", value=-1)]))
        expect_error(InvalidArgumentsError, lambda: client.put_component_metric(metrics=[Metric(name="cpu", unit="MILLISECONDS", value=1)]))

    def cli_operations():
        details = client.get_component_details(component_name=name)
        assert details.component_details.component_name == name, details
        listed = client.list_components()
        assert name in [c.component_name for c in listed.components], listed
        expect_error(UnauthorizedError, lambda: client.restart_component(component_name=name))
        expect_error(UnauthorizedError, lambda: client.list_local_deployments())

    def defer_unsubscribed():
        expect_error(InvalidArgumentsError, lambda: client.defer_component_update(deployment_id="none", recheck_after_ms=0))

    def connection_status():
        first = threading.Event()

        def on_status(event):
            say(f"STATUS {event.connection_status_event.status}")
            first.set()

        client.subscribe_to_iot_core_connection_status(on_stream_event=on_status)
        assert first.wait(10), "no initial status"

    check("metrics", metrics)
    check("cli-operations", cli_operations)
    check("defer-unsubscribed", defer_unsubscribed)
    check("connection-status", connection_status)
    say("CHECKS DONE")


def main():
    client = GreengrassCoreIPCClientV2()
    role = sys.argv[1]
    if role == "checks":
        checks(client)
    else:
        updates(client, role)
    while True:
        time.sleep(60)


if __name__ == "__main__":
    main()
