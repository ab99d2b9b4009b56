"""The official MemOS SDK (PyPI MemoryOS 2.0.33, in its own virtual environment) against
`memos serve` running as a real process: only the base URL and the key change."""

import json
import os
import subprocess
from pathlib import Path

import pytest

from tests.e2e.process import Service, run_service
from tests.stack import GUIDE_MESSAGES

ROOT = Path(__file__).resolve().parents[2]
SDK_PYTHON = ROOT / ".venv-sdk" / "bin" / "python"


def run_sdk(script: str, service: Service, data: Path, *args: str, key: str = "") -> dict:
    """A script of tests (tests/e2e/SCRIPT, or a path under tests) run by the SDK's own Python
    against `service` with `key` (else the one `memos serve` made): what it printed after
    RESULT, as JSON."""
    if not SDK_PYTHON.exists():
        pytest.fail("the SDK environment is missing: `make sdk` (part of `make test`) makes it")
    key = key or (data / "api-key").read_text().strip()
    path = ROOT / "tests" / (script if "/" in script else f"e2e/{script}")
    done = subprocess.run(
        [str(SDK_PYTHON), str(path), *args],
        cwd=data.parent,
        env={**os.environ, "MEMOS_API_KEY": key, "MEMOS_BASE_URL": service.api},
        capture_output=True,
        text=True,
        timeout=300,
    )
    lines = [line for line in done.stdout.splitlines() if line.startswith("RESULT ")]
    assert done.returncode == 0 and lines, done.stdout[-3000:] + done.stderr[-3000:]
    result: dict = json.loads(lines[-1].removeprefix("RESULT "))
    return result


def test_official_sdk_round_trip(tmp_path: Path) -> None:
    data = tmp_path / "data"
    with run_service("serve", data) as service:
        result = run_sdk(
            "sdk_client.py", service, data, json.dumps(GUIDE_MESSAGES, ensure_ascii=False)
        )

    assert result["add"]["success"] is True and result["add"]["task_id"]
    assert result["status"] == "completed"
    first = result["search"][0]
    assert "暑假" in first["memory_value"] and "全家" in first["memory_value"]
    assert 0 <= first["relativity"] <= 1 and first["sources"]
    assert [m["content"] for m in result["messages"]] == [m["content"] for m in GUIDE_MESSAGES]
    assert result["get_memory"]["total"] == 1 and first["id"] in result["get_memory"]["ids"]
    # The SDK asks for preferences by default: the family's way of travelling, with its source.
    (preference,) = result["preferences"]
    assert preference["preference"] == "用户一般都是全家行动"
    assert preference["preference_type"] == "explicit_preference"
    assert preference["relativity"] >= 0.1 and preference["sources"]
    assert result["preference_note"] == "用户的偏好：用户一般都是全家行动。回答时请遵循这些偏好。"
    assert result["get_memory"]["preferences"] == ["用户一般都是全家行动"]
    assert result["bind"]["data"]["bound"][0]["profile_template_id"] == "default"
    assert result["edit_profile"]["data"]["profile"]["fields"] == {"city": "杭州"}
    (profile,) = result["profiles"]
    assert profile["fields"] == {"city": "杭州"} and profile["sources"] == {"city": "edited"}
    assert result["delete_profile"]["data"] == {"success": True}
    by_id = result["by_id"]["data"]
    assert (by_id["id"], by_id["memory_value"]) == (first["id"], first["memory_value"])
    edited = result["update"]["data"]["memory"]
    assert (edited["id"], edited["memory_key"]) == (first["id"], "国庆三亚")
    assert [h["memory_value"] for h in edited["history"]] == [first["memory_value"]]
    after = result["after_update"][0]
    assert (after["id"], after["memory_value"]) == (
        first["id"],
        "[user观点]用户国庆节全家去三亚度假。",
    )
    (extracted,) = result["extract"]["data"]["memory_detail_list"]
    assert extracted["memory_value"] == "The user is allergic to peanuts."
    (stated,) = result["extract"]["data"]["preference_detail_list"]
    assert stated["preference"] == "The user is allergic to peanuts."
    assert result["tool_add"] == "completed"
    calls = [m.get("tool_calls") for m in result["tool_messages"]]
    assert calls[1][0]["function"]["name"] == "weather" and calls[0] is None
    assert result["tool_messages"][2]["tool_call_id"] == "call_1"
    (tool,) = result["tool_memories"]
    assert tool["memory_value"] == (
        '为用户的请求“明天杭州天气怎么样？”调用了工具 weather，返回 {"forecast": "rain"}；'
        "助手回答：明天杭州有雨。"
    )
    assert len(tool["sources"]) == 4 and 0 <= tool["relativity"] <= 1
    assert result["tool_page"] == [tool["id"]]
    assert result["feedback"] == "completed"
    assert result["feedback_memories"] == ["[user观点]用户其实不喜欢吃辣。"]
    (best,) = result["rerank"]["data"]["results"]
    assert (best["index"], best["document"]) == (1, "用户国庆节全家去三亚度假。")
    assert result["kb_files"] == [["notes.txt", "completed"], ["policy.md", "completed"]]
    assert any("500元" in value for value in result["kb_search"])
    assert result["shared"] == "completed"
    assert [["public", True, [result["kb"]]]] == [
        [scope, public, kbs]
        for value, scope, public, kbs in result["shared_search"]
        if "6月25日" in value
    ]
    assert result["kb_delete_file"] is True and result["kb_delete"] is True
    assert result["delete"] is True and result["after_delete"] == 0
