"""Benchmark component: publishes N messages to IoT Core through the nucleus with the unmodified AWS SDK.

argv: topic count qos window rate result_path
Each payload carries the send time (ns, CLOCK_REALTIME) so the outside collector can compute latency. Publishes
are pipelined with at most `window` outstanding requests (the SDK's async API), as a busy component would.
rate > 0 paces the sends on an absolute schedule (rate messages per second); 0 sends as fast as the window allows.
"""
import json
import os
import sys
import time
from collections import deque

from awsiot.greengrasscoreipc.clientv2 import GreengrassCoreIPCClientV2
from awsiot.greengrasscoreipc.model import QOS


def main():
    topic, count, qos, window = sys.argv[1], int(sys.argv[2]), sys.argv[3], int(sys.argv[4])
    rate, result_path = float(sys.argv[5]), sys.argv[6]
    client = GreengrassCoreIPCClientV2()
    qos_value = QOS.AT_LEAST_ONCE if qos == "1" else QOS.AT_MOST_ONCE
    time.sleep(1.0)  # let the outside collector settle
    outstanding = deque()
    start = time.perf_counter()
    for index in range(count):
        if rate > 0:
            delay = start + index / rate - time.perf_counter()
            if delay > 0:
                time.sleep(delay)
        payload = json.dumps({"i": index, "t": time.time_ns()}).encode()
        outstanding.append(client.publish_to_iot_core_async(topic_name=topic, qos=qos_value, payload=payload))
        if len(outstanding) >= window:
            outstanding.popleft().result(timeout=30)
    while outstanding:
        outstanding.popleft().result(timeout=30)
    elapsed = time.perf_counter() - start
    with open(result_path + ".tmp", "w") as result:
        json.dump({"count": count, "seconds": elapsed}, result)
    os.rename(result_path + ".tmp", result_path)
    client.close()


if __name__ == "__main__":
    main()
