"""Calls IPC in a loop — GetConfiguration of its own `greeting`, then PublishToTopic on `durability/load` — and
appends `<pid> <count>` to the file named by argv[1] after every round that succeeded. After an error (the nucleus
was killed under it) it drops the connection and connects again, so a test can tell when a process got through.
"""
import os
import sys
import time

from awsiot.greengrasscoreipc.clientv2 import GreengrassCoreIPCClientV2
from awsiot.greengrasscoreipc.model import BinaryMessage, PublishMessage

marker_path = sys.argv[1]
pid = os.getpid()
count = 0
client = None
while True:
    try:
        if client is None:
            client = GreengrassCoreIPCClientV2()
        answer = client.get_configuration(key_path=["greeting"])
        if answer.value != {"greeting": "hello"}:
            raise RuntimeError(f"unexpected configuration {answer.value!r}")
        client.publish_to_topic(
            topic="durability/load",
            publish_message=PublishMessage(binary_message=BinaryMessage(message=str(count).encode())))
        count += 1
        with open(marker_path, "a") as marker:
            marker.write(f"{pid} {count}\n")
        time.sleep(0.01)
    except Exception as error:  # the nucleus went away: reconnect (bounded by the test, which kills us)
        print(f"IPC error: {error!r}", flush=True)
        try:
            if client is not None:
                client.close()
        except Exception:
            pass
        client = None
        time.sleep(0.2)
