"""Publishes COUNT QoS 1 messages (payload = sequence number) to IoT Core through the nucleus, one after the
other, printing `ACKED <i>` once the nucleus answered each (Greengrass answers once the message is spooled).
argv: topic count delay_seconds
"""
import sys
import time

from awsiot.greengrasscoreipc.clientv2 import GreengrassCoreIPCClientV2
from awsiot.greengrasscoreipc.model import QOS

topic, count, delay = sys.argv[1], int(sys.argv[2]), float(sys.argv[3])
client = GreengrassCoreIPCClientV2()
for index in range(count):
    try:
        client.publish_to_iot_core(topic_name=topic, qos=QOS.AT_LEAST_ONCE, payload=str(index).encode())
        print(f"ACKED {index}", flush=True)
    except Exception as error:  # not acknowledged: allowed to be lost
        print(f"FAILED {index} {type(error).__name__}: {getattr(error, 'message', None) or error!r}", flush=True)
    time.sleep(delay)
print("LOAD DONE", flush=True)
while True:
    time.sleep(3600)
