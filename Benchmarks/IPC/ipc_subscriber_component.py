"""Benchmark component: receives IoT Core messages through the nucleus with the unmodified AWS SDK.

argv: topic count ready_path result_path
Subscribes with SubscribeToIoTCore, writes ready_path, then records (index, send ns, receive ns) per message and
writes them to result_path after `count` messages (or 5 s without a message once the first has arrived).
"""
import base64
import json
import os
import sys
import threading
import time

from awsiot.greengrasscoreipc.clientv2 import GreengrassCoreIPCClientV2
from awsiot.greengrasscoreipc.model import QOS


def write(path, value):
    with open(path + ".tmp", "w") as output:
        json.dump(value, output)
    os.rename(path + ".tmp", path)


def main():
    topic, count, ready_path, result_path = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
    samples = []
    done = threading.Event()
    last = [None]

    def on_event(event):
        now = time.time_ns()
        body = json.loads(event.message.payload)
        samples.append([body["i"], body["t"], now])
        last[0] = time.monotonic()
        if len(samples) >= count:
            done.set()

    client = GreengrassCoreIPCClientV2()
    client.subscribe_to_iot_core(topic_name=topic, qos=QOS.AT_MOST_ONCE, on_stream_event=on_event)
    write(ready_path, {"ready": True})
    deadline = time.monotonic() + 600
    while not done.wait(0.2):
        if (last[0] is not None and time.monotonic() - last[0] > 5) or time.monotonic() > deadline:
            break
    write(result_path, {"samples": list(samples)})
    client.close()


if __name__ == "__main__":
    main()
