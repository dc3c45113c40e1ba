"""Publishes a JSON message to AWS IoT Core through the Greengrass nucleus, as the AWS IPC tutorial does.

Usage: publisher.py TOPIC INTERVAL_SECONDS
"""
import datetime
import json
import sys
import time

from awsiot.greengrasscoreipc.clientv2 import GreengrassCoreIPCClientV2
from awsiot.greengrasscoreipc.model import QOS


def main():
    topic = sys.argv[1] if len(sys.argv) > 1 else "core/topic"
    interval = float(sys.argv[2]) if len(sys.argv) > 2 else 5.0
    client = GreengrassCoreIPCClientV2()
    try:
        while True:
            message = {"msg": "hello.world", "date": datetime.datetime.now(datetime.timezone.utc).isoformat()}
            client.publish_to_iot_core(
                topic_name=topic, qos=QOS.AT_LEAST_ONCE, payload=json.dumps(message).encode("utf-8")
            )
            print(f"Published {json.dumps(message)} to {topic}", flush=True)
            time.sleep(interval)
    finally:
        client.close()


if __name__ == "__main__":
    main()
