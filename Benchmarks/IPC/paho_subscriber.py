"""Baseline for broker-to-component delivery: a paho-mqtt subscriber directly on the broker.

argv: port topic count ready_path result_path — same output as ipc_subscriber_component.py.
"""
import json
import os
import sys
import threading
import time

import paho.mqtt.client as mqtt


def write(path, value):
    with open(path + ".tmp", "w") as output:
        json.dump(value, output)
    os.rename(path + ".tmp", path)


def main():
    port, topic, count, ready_path, result_path = int(sys.argv[1]), sys.argv[2], int(sys.argv[3]), sys.argv[4], sys.argv[5]
    samples = []
    done = threading.Event()
    subscribed = threading.Event()
    last = [None]

    def on_message(client, userdata, message):
        now = time.time_ns()
        body = json.loads(message.payload)
        samples.append([body["i"], body["t"], now])
        last[0] = time.monotonic()
        if len(samples) >= count:
            done.set()

    client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=f"paho-sub-{topic}")
    client.on_message = on_message
    client.on_subscribe = lambda *args: subscribed.set()
    client.connect("127.0.0.1", port)
    client.subscribe(topic, qos=0)
    client.loop_start()
    subscribed.wait(10)
    write(ready_path, {"ready": True})
    deadline = time.monotonic() + 600
    while not done.wait(0.2):
        if (last[0] is not None and time.monotonic() - last[0] > 5) or time.monotonic() > deadline:
            break
    client.loop_stop()
    write(result_path, {"samples": list(samples)})
    client.disconnect()


if __name__ == "__main__":
    main()
