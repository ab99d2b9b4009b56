"""Runs inside the official SDK's own environment (.venv-sdk): chat through `MemOSClient`,
whole and streamed, printing what came back as JSON for the test to check."""

import json
import os

from memos.api.client import MemOSClient

client = MemOSClient(api_key=os.environ["MEMOS_API_KEY"], base_url=os.environ["MEMOS_BASE_URL"])
out: dict = {}
whole = client.chat(user_id="chat_user", conversation_id="c1", query="国庆去哪玩")
out["response"] = whole.response
out["events"] = [
    json.loads(data)
    for data in client.chat(
        user_id="chat_user", conversation_id="c1", query="那住哪里好？", stream=True
    )
]
print("RESULT " + json.dumps(out, ensure_ascii=False))
