"""Publishes COUNT numbered QoS 1 messages (payload = number) to IoT Core through the nucleus, one after the other,
printing `ACKED <i>` once the nucleus answered each, then `LOAD DONE`. Runs once per work directory: a marker file
keeps a restarted component from publishing again, so a test can count exactly what one run acknowledged.
argv: topic count [expiry]: with `expiry`, even numbers carry an MQTT 5 message expiry interval of `expiry` seconds
and odd ones one of an hour.
"""
import os
import sys
import time

from awsiot.greengrasscoreipc.clientv2 import GreengrassCoreIPCClientV2
from awsiot.greengrasscoreipc.model import QOS

topic, count = sys.argv[1], int(sys.argv[2])
expiry = int(sys.argv[3]) if len(sys.argv) > 3 else None
marker = "published.marker"
if not os.path.exists(marker):
    client = GreengrassCoreIPCClientV2()
    started = time.monotonic()
    for index in range(count):
        try:
            lifetime = None if expiry is None else (expiry if index % 2 == 0 else 3600)
            client.publish_to_iot_core(
                topic_name=topic, qos=QOS.AT_LEAST_ONCE, payload=str(index).encode(), message_expiry_interval_seconds=lifetime)
            print(f"ACKED {index}", flush=True)
        except Exception as error:  # not acknowledged: allowed to be lost
            print(f"FAILED {index} {type(error).__name__}: {getattr(error, 'message', None) or error!r}", flush=True)
    print(f"LOAD DONE {count / (time.monotonic() - started):.0f} per second", flush=True)
    open(marker, "w").close()
while True:
    time.sleep(3600)
