"""Runs inside the official SDK's own environment (.venv-sdk): drives the service through
`MemOSClient` and prints what it got back as JSON for the test to check."""

import base64
import json
import os
import sys
import time

from memos.api.client import MemOSClient

MESSAGES = json.loads(sys.argv[1])
client = MemOSClient(api_key=os.environ["MEMOS_API_KEY"], base_url=os.environ["MEMOS_BASE_URL"])
user, conversation = "memos_user_123", "memos_conversation_123"
out: dict = {}


def wait_for(task_id: str) -> str:
    status = client.get_task_status(task_id)
    deadline = time.monotonic() + 30
    while status.data.status == "running" and time.monotonic() < deadline:
        time.sleep(0.1)
        status = client.get_task_status(task_id)
    return status.data.status


added = client.add_message(messages=MESSAGES, user_id=user, conversation_id=conversation)
out["add"] = {"success": added.success, "task_id": added.task_id, "status": added.status}
out["status"] = wait_for(added.task_id)

found = client.search_memory(query="国庆去哪玩", user_id=user, conversation_id=conversation)
out["search"] = [m.model_dump() for m in found.memories]
out["preferences"] = [p.model_dump() for p in found.data.preference_detail_list or []]
out["preference_note"] = found.data.preference_note
out["messages"] = [
    m.model_dump() for m in client.get_message(user_id=user, conversation_id=conversation).messages
]
page = client.get_memory(user_id=user, page=1, size=10)
out["get_memory"] = {
    "ids": [m.model_dump()["id"] for m in page.memories],
    "total": page.data.total,
    "preferences": [p.model_dump()["preference"] for p in page.data.preference_detail_list or []],
}
out["bind"] = client.bind_profile_template([{"user_id": user, "profile_template_id": "default"}])
out["edit_profile"] = client.edit_profile("default", user_id=user, metadata={"city": "杭州"})
out["profiles"] = [
    p.model_dump() for p in client.get_memory(user_id=user).data.profile_detail_list or []
]
out["delete_profile"] = client.delete_profile("default", user_id=user)
first = out["search"][0]["id"]
out["by_id"] = client.get_memory_by_id(first)
edited = client.update_memory(
    first, content="[user观点]用户国庆节全家去三亚度假。", title="国庆三亚"
)
out["update"] = edited
wait_for(edited["data"]["task_id"])
out["after_update"] = [
    m.model_dump() for m in client.search_memory(query="国庆去哪玩", user_id=user).memories
]
out["extract"] = client.extract_memory(
    messages=[{"role": "user", "content": "I am allergic to peanuts."}]
)
tool_turns = [
    {"role": "user", "content": "明天杭州天气怎么样？"},
    {
        "role": "assistant",
        "content": "",
        "tool_calls": [
            {"id": "call_1", "type": "function", "function": {"name": "weather", "arguments": "{}"}}
        ],
    },
    {"role": "tool", "tool_call_id": "call_1", "content": '{"forecast": "rain"}'},
    {"role": "assistant", "content": "明天杭州有雨。"},
]
tool_add = client.add_message(messages=tool_turns, user_id="tool_user", conversation_id="tools")
out["tool_add"] = wait_for(tool_add.task_id)
out["tool_messages"] = [
    m.model_dump()
    for m in client.get_message(user_id="tool_user", conversation_id="tools").messages
]
tooled = client.search_memory(query="杭州会下雨吗", user_id="tool_user", include_tool_memory=True)
out["tool_memories"] = [m.model_dump() for m in tooled.data.tool_memory_detail_list or []]
out["tool_page"] = [
    m.model_dump()["id"]
    for m in client.get_memory(user_id="tool_user").data.tool_memory_detail_list or []
]
feedback = client.add_feedback(
    user_id="feedback_user", conversation_id="fb", feedback_content="我其实不喜欢吃辣"
)
out["feedback"] = wait_for(feedback.data.task_id)
out["feedback_memories"] = [
    m.model_dump()["memory_value"] for m in client.get_memory(user_id="feedback_user").memories
]
out["rerank"] = client.rerank(
    query="国庆去哪玩", documents=["用户对花生过敏。", "用户国庆节全家去三亚度假。"], top_n=1
)
# Knowledge bases: a document as JSON, a file as a form, searched beside the user's memories.
kb = client.create_knowledgebase("出行规定", "公司差旅制度").data.id
policy = "# 差旅\n\n国内出差住宿标准每晚不超过500元，需提前在系统中申请。".encode()
added = client.add_knowledgebase_file_json(
    kb,
    [
        {
            "name": "policy.md",
            "type": "document",
            "content": "data:text/markdown;base64," + base64.b64encode(policy).decode(),
        }
    ],
)
with open("notes.txt", "w") as notes:
    notes.write("报销需在出差结束后30天内提交。")
formed = client.add_knowledgebase_file_form(kb, ["notes.txt"])
file_ids = [f["id"] for f in added.data + formed.data]
deadline = time.monotonic() + 60
while time.monotonic() < deadline:
    files = client.get_knowledgebase_file(knowledgebase_id=kb).data.file_detail_list
    if all(f.model_dump()["status"] != "processing" for f in files):
        break
    time.sleep(0.2)
out["kb_files"] = sorted(
    (f.model_dump()["name"], f.model_dump()["status"])
    for f in client.get_knowledgebase_file(file_ids=file_ids).data.file_detail_list
)
out["kb_search"] = [
    m.model_dump()["memory_value"]
    for m in client.search_memory(
        query="出差住酒店的标准是多少", user_id=user, knowledgebase_ids=[kb]
    ).memories
]
# An add shared with the project's public memory and the knowledge base: another user finds it.
shared = client.add_message(
    messages=[{"role": "user", "content": "本季度报销截止时间是6月25日。"}],
    user_id="sharer",
    conversation_id="notice",
    allow_public=True,
    allow_knowledgebase_ids=[kb],
)
out["shared"], out["kb"] = wait_for(shared.data.task_id), kb
out["shared_search"] = [
    (m["memory_value"], m["scope"], m["public"], m["knowledgebase_ids"])
    for m in (
        x.model_dump()
        for x in client.search_memory(query="报销截止时间是哪天", user_id="colleague").memories
    )
]
out["kb_delete_file"] = client.delete_knowledgebase_file(file_ids[:1]).data.success
out["kb_delete"] = client.delete_knowledgebase(kb).data.success
deleted = client.delete_memory(memory_ids=[first])
out["delete"] = deleted.success
after = client.get_memory(user_id=user)
out["after_delete"] = after.data.total
print("RESULT " + json.dumps(out, ensure_ascii=False))
