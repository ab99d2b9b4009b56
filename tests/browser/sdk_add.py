"""Run by the SDK's own Python (tests/e2e/test_sdk.py, run_sdk): adds a conversation with
the key the console showed, and waits for its memories. Args: user, conversation, messages
(JSON)."""

import json
import os
import sys
import time

from memos.api.client import MemOSClient

client = MemOSClient(api_key=os.environ["MEMOS_API_KEY"], base_url=os.environ["MEMOS_BASE_URL"])
user, conversation, messages = sys.argv[1], sys.argv[2], json.loads(sys.argv[3])
added = client.add_message(messages=messages, user_id=user, conversation_id=conversation)
status = client.get_task_status(added.data.task_id)
deadline = time.monotonic() + 60
while status.data.status == "running" and time.monotonic() < deadline:
    time.sleep(0.1)
    status = client.get_task_status(added.data.task_id)
print("RESULT " + json.dumps({"task_id": added.data.task_id, "status": status.data.status}))
