"""A component that validates its own configuration updates with the unmodified AWS IoT Device SDK (clientv2).

It accepts a proposed configuration whose `limit` is at most 3 and rejects anything larger, answering each
ValidateConfigurationUpdateEvents event with SendConfigurationValidityReport.
"""
import threading
import time

from awsiot.greengrasscoreipc.clientv2 import GreengrassCoreIPCClientV2
from awsiot.greengrasscoreipc.model import ConfigurationValidityReport, ConfigurationValidityStatus

client = GreengrassCoreIPCClientV2()


def answer(event):
    proposal = event.validate_configuration_update_event
    limit = proposal.configuration.get("limit", 0)
    accepted = isinstance(limit, (int, float)) and limit <= 3
    report = ConfigurationValidityReport(
        status=ConfigurationValidityStatus.ACCEPTED if accepted else ConfigurationValidityStatus.REJECTED,
        deployment_id=proposal.deployment_id,
        message="ok" if accepted else f"limit must be at most 3, got {limit}",
    )
    client.send_configuration_validity_report(configuration_validity_report=report)
    print(f"VALIDATED {proposal.deployment_id} limit={limit} accepted={accepted}", flush=True)


def on_event(event):
    # Answer off the SDK's event thread: a blocking call from inside the handler would wait on itself.
    threading.Thread(target=answer, args=(event,), daemon=True).start()


client.subscribe_to_validate_configuration_updates(on_stream_event=on_event)
print("VALIDATOR READY", flush=True)
while True:
    time.sleep(3600)
