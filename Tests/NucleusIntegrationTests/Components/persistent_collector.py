"""Outside MQTT client with a persistent session (clean_session=False, QoS 1) that survives broker restarts
and appends every payload it receives to a file, one per line. argv: port topic output_file client_id
"""
import sys

import paho.mqtt.client as mqtt

port, topic, output, client_id = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4]
client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=client_id, clean_session=False)
client.reconnect_delay_set(min_delay=1, max_delay=2)


def on_connect(client, userdata, flags, reason_code, properties):
    client.subscribe(topic, qos=1)
    print("CONNECTED", flush=True)


def on_message(client, userdata, message):
    with open(output, "a") as out:
        out.write(message.payload.decode() + "\n")


client.on_connect = on_connect
client.on_message = on_message
client.connect("127.0.0.1", port)
client.loop_forever(retry_first_connection=True)
