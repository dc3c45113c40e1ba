"""Opens a copy of the nucleus store (`nucleus.db`, with its -wal beside it: SQLite recovers from the WAL on open)
and prints a JSON summary: integrity_check, the deployed set (name -> version) and every deployment, oldest first,
with its status, the root versions it asked for and its rollback snapshot (name -> version, or null).
argv: path to the copied nucleus.db
"""
import json
import sqlite3
import sys

connection = sqlite3.connect(sys.argv[1])
integrity = connection.execute("PRAGMA integrity_check").fetchone()[0]
components = {name: version for name, version in connection.execute("SELECT name, version FROM component")}
deployments = []
for identifier, status, request, snapshot in connection.execute(
        "SELECT id, status, request, rollbackSnapshot FROM deployment ORDER BY sequence"):
    deployments.append({
        "id": identifier,
        "status": status,
        "target": json.loads(request).get("rootComponentVersionsToAdd") or {},
        "snapshot": None if snapshot is None else {c["name"]: c["version"] for c in json.loads(snapshot)},
    })
print(json.dumps({"integrity": integrity, "components": components, "deployments": deployments}))
