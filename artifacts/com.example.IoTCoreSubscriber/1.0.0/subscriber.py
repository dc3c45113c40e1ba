"""Subscribes to an AWS IoT Core topic through the Greengrass nucleus and appends each payload to a file.

Usage: subscriber.py TOPIC OUTPUT_FILE
"""
import sys
import threading

from awsiot.greengrasscoreipc.clientv2 import GreengrassCoreIPCClientV2
from awsiot.greengrasscoreipc.model import QOS, IoTCoreMessage


def main():
    topic = sys.argv[1] if len(sys.argv) > 1 else "core/topic"
    output_path = sys.argv[2] if len(sys.argv) > 2 else "received.jsonl"
    closed = threading.Event()

    def on_stream_event(event: IoTCoreMessage) -> None:
        payload = event.message.payload.decode("utf-8", errors="replace")
        with open(output_path, "a", encoding="utf-8") as output:
            output.write(payload + "\n")
        print(f"Received on {event.message.topic_name}: {payload}", flush=True)

    def on_stream_error(error: Exception) -> bool:
        print(f"Subscription error: {error!r}", file=sys.stderr, flush=True)
        return False  # keep the stream open

    def on_stream_closed() -> None:
        print("Subscription closed", file=sys.stderr, flush=True)
        closed.set()

    client = GreengrassCoreIPCClientV2()
    client.subscribe_to_iot_core(
        topic_name=topic,
        qos=QOS.AT_LEAST_ONCE,
        on_stream_event=on_stream_event,
        on_stream_error=on_stream_error,
        on_stream_closed=on_stream_closed,
    )
    print(f"Subscribed to {topic}, writing to {output_path}", flush=True)
    closed.wait()
    client.close()
    sys.exit(1)  # the nucleus restarts us and we subscribe again


if __name__ == "__main__":
    main()
