"""Benchmark component: publishes N messages to IoT Core through the nucleus with the unmodified AWS SDK.

argv: topic count qos window result_path
Each payload carries the send time (ns) so the outside subscriber can compute latency. Publishes are pipelined
with at most `window` outstanding requests (the SDK's async API), as a busy component would.
"""
import json
import sys
import time
from collections import deque

from awsiot.greengrasscoreipc.clientv2 import GreengrassCoreIPCClientV2
from awsiot.greengrasscoreipc.model import QOS


def main():
    topic, count, qos, window, result_path = sys.argv[1], int(sys.argv[2]), sys.argv[3], int(sys.argv[4]), sys.argv[5]
    client = GreengrassCoreIPCClientV2()
    qos_value = QOS.AT_LEAST_ONCE if qos == "1" else QOS.AT_MOST_ONCE
    time.sleep(1.0)  # let the outside subscriber settle
    outstanding = deque()
    start = time.perf_counter()
    for index in range(count):
        payload = json.dumps({"i": index, "t": time.time_ns()}).encode()
        outstanding.append(client.publish_to_iot_core_async(topic_name=topic, qos=qos_value, payload=payload))
        if len(outstanding) >= window:
            outstanding.popleft().result(timeout=30)
    while outstanding:
        outstanding.popleft().result(timeout=30)
    elapsed = time.perf_counter() - start
    with open(result_path, "w") as result:
        json.dump({"count": count, "seconds": elapsed}, result)
    print(f"published {count} in {elapsed:.3f}s", flush=True)
    while True:
        time.sleep(3600)


if __name__ == "__main__":
    main()
