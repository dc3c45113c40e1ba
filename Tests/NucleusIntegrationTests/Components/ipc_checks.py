"""An IPC test component written with the unmodified AWS IoT Device SDK (clientv2 and the classic client).

Runs every check, prints one `CHECK <name> ok` or `CHECK <name> FAILED <reason>` line per check on stdout (which
the nucleus logs to the component log), then stays alive so the test can publish to it from outside.
"""
import datetime
import os
import sys
import threading
import time
import traceback

import awsiot.greengrasscoreipc
from awsiot.eventstreamrpc import AccessDeniedError
from awsiot.greengrasscoreipc.clientv2 import GreengrassCoreIPCClientV2
from awsiot.greengrasscoreipc.model import (
    QOS,
    BinaryMessage,
    JsonMessage,
    PublishMessage,
    PublishToIoTCoreRequest,
    UnauthorizedError,
)

results = []


def check(name, function):
    try:
        function()
        print(f"CHECK {name} ok", flush=True)
    except Exception as error:  # report every failure, keep going
        print(f"CHECK {name} FAILED {error!r}", flush=True)
        traceback.print_exc()


def main():
    client = GreengrassCoreIPCClientV2()
    received_local = []
    received_iot = []
    local_event = threading.Event()
    iot_event = threading.Event()

    def on_local(event):
        message = event.json_message.message if event.json_message else event.binary_message.message.decode()
        received_local.append(message)
        local_event.set()

    def on_iot(event):
        received_iot.append(event.message.payload.decode())
        print(f"IOTCORE {event.message.topic_name} {event.message.payload.decode()}", flush=True)
        iot_event.set()

    def local_pubsub():
        client.subscribe_to_topic(topic="local/+/data", on_stream_event=on_local, receive_mode="RECEIVE_ALL_MESSAGES")
        client.publish_to_topic(topic="local/a/data", publish_message=PublishMessage(json_message=JsonMessage(message={"n": 1})))
        assert local_event.wait(10), "no local message"
        assert received_local[0] == {"n": 1}, received_local

    def iot_core_round_trip():
        client.subscribe_to_iot_core(topic_name="checks/echo/#", qos=QOS.AT_LEAST_ONCE, on_stream_event=on_iot)
        client.publish_to_iot_core(topic_name="checks/echo/one", qos=QOS.AT_LEAST_ONCE, payload=b"round-trip")
        assert iot_event.wait(10), "no IoT Core message came back"
        assert "round-trip" in received_iot, received_iot

    def qos0_publish():
        client.publish_to_iot_core(topic_name="checks/qos0", qos=QOS.AT_MOST_ONCE, payload=b"zero")

    def denied_publish():
        try:
            client.publish_to_iot_core(topic_name="forbidden/topic", qos=QOS.AT_LEAST_ONCE, payload=b"x")
        except UnauthorizedError as error:
            assert "forbidden/topic" in error.message, error.message
            return
        raise AssertionError("publish to forbidden/topic was allowed")

    def configuration():
        value = client.get_configuration(key_path=["settings"]).value
        assert value == {"color": "blue", "size": 3}, value
        leaf = client.get_configuration(key_path=["settings", "color"]).value
        assert leaf == {"color": "blue"}, leaf
        updates = []
        updated = threading.Event()

        def on_update(event):
            updates.append(event.configuration_update_event.key_path)
            updated.set()

        client.subscribe_to_configuration_update(key_path=["settings"], on_stream_event=on_update)
        client.update_configuration(
            key_path=["settings"], timestamp=datetime.datetime.now(), value_to_merge={"color": "red"}
        )
        assert client.get_configuration(key_path=["settings", "color"]).value == {"color": "red"}
        assert updated.wait(10), "no configuration update event"

    def update_state():
        client.update_state(state="RUNNING")

    def wrong_token_refused():
        os.environ["SVCUID"] = "not-a-token"
        try:
            other = awsiot.greengrasscoreipc.connect()
        except AccessDeniedError:
            return
        other.close()
        raise AssertionError("a wrong token was accepted")

    check("local-pubsub", local_pubsub)
    check("iot-core-round-trip", iot_core_round_trip)
    check("qos0-publish", qos0_publish)
    check("denied-publish", denied_publish)
    check("configuration", configuration)
    check("update-state", update_state)
    check("wrong-token", wrong_token_refused)
    print("CHECKS DONE", flush=True)
    while True:
        time.sleep(3600)


if __name__ == "__main__":
    main()
