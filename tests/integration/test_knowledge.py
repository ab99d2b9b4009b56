"""Knowledge bases: files as JSON (data: and http(s) URLs) or a multipart upload, in every
format, parsed, chunked and indexed by jobs; searched beside a user's memories; skills; limits,
unreadable files and private URLs; deletes."""

import base64
import io
import threading
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from docx import Document
from fpdf import FPDF

from tests.stack import Stack

GUIDE = (
    "Expense reports must be filed within 30 days of travel. Receipts over 25 euros need a scan."
)


def data_url(data: bytes, mime: str = "application/octet-stream") -> str:
    return f"data:{mime};base64,{base64.b64encode(data).decode()}"


def pdf_bytes(text: str) -> bytes:
    pdf = FPDF()
    pdf.add_page()
    pdf.set_font("Helvetica", size=12)
    pdf.multi_cell(0, 10, text)
    return bytes(pdf.output())


def docx_bytes(text: str) -> bytes:
    document, out = Document(), io.BytesIO()
    document.add_paragraph(text)
    document.save(out)
    return out.getvalue()


SKILL = b"""---
name: refund-a-ticket
description: How to refund a train ticket bought through the booking tool
---
1. Open the booking, 2. choose Cancel, 3. confirm the refund to the original card.
"""


def knowledgebase(stack: Stack) -> str:
    return stack.ok(
        "/create/knowledgebase",
        {"knowledgebase_name": f"kb-{uuid.uuid4().hex[:6]}", "knowledgebase_description": "d"},
    )["id"]


def settle(stack: Stack, files: list[dict]) -> dict[str, dict]:
    for f in files:
        assert stack.wait(f["task_id"]) == "completed"
    found = stack.ok("/get/knowledgebase-file", {"file_ids": [f["id"] for f in files]})
    return {f["name"]: f for f in found["file_detail_list"]}


def test_every_format_is_indexed_and_searched_beside_memories(stack: Stack) -> None:
    kb = knowledgebase(stack)
    files = [
        ("policy.md", data_url(("# Travel\n\n" + GUIDE).encode(), "text/markdown")),
        ("policy.txt", data_url(b"Hotel stays are capped at 150 euros a night.")),
        ("policy.json", data_url(b'{"per_diem": "Meals are covered up to 40 euros a day."}')),
        ("policy.html", data_url(b"<html><script>x()</script><p>Taxis need a receipt.</p></html>")),
        ("policy.pdf", data_url(pdf_bytes("Flights over six hours may be booked in business."))),
        ("policy.docx", data_url(docx_bytes("Rental cars must be returned with a full tank."))),
    ]
    added = stack.ok(
        "/add/knowledgebase-file",
        {"knowledgebase_id": kb, "file": [{"name": n, "content": c} for n, c in files]},
    )
    assert [f["status"] for f in added] == ["processing"] * 6
    done = settle(stack, added)
    assert {n: (f["status"], f["chunks"] >= 1) for n, f in done.items()} == {
        n: ("completed", True) for n, _ in files
    }
    listed = stack.ok("/get/knowledgebase-file", {"knowledgebase_id": kb, "page_size": 4})
    assert (listed["total"], len(listed["file_detail_list"]), listed["pages"]) == (6, 4, 2)

    who = f"u-{uuid.uuid4().hex[:8]}"
    stack.add(
        who,
        "c",
        [{"role": "user", "content": "I fly to Tokyo for work next week."}],
        async_mode=False,
    )
    for query, expected in (
        ("How long do I have to file my expense report?", "within 30 days"),
        ("Can I fly business class on a long flight?", "business"),
        ("How much can I spend on a hotel?", "150 euros"),
        ("Do rental cars need refuelling?", "full tank"),
    ):
        found = stack.search(who, query, knowledgebase_ids=[kb], memory_limit_number=3)
        chunks = [m for m in found["memory_detail_list"] if m["info"].get("knowledgebase_id")]
        assert any(expected in m["memory_value"] for m in chunks), (query, chunks)
    mine = stack.search(who, "Where am I flying next week?", knowledgebase_ids=[kb])
    assert "Tokyo" in mine["memory_detail_list"][0]["memory_value"]  # the user's own first
    alone = stack.search(who, "How long do I have to file my expense report?")
    assert all("knowledgebase_id" not in m["info"] for m in alone["memory_detail_list"])
    unknown = stack.post(
        "/search/memory", {"user_id": who, "query": "q", "knowledgebase_ids": ["x"]}
    )
    assert unknown.json()["code"] == 40000 and "knowledgebase_ids" in unknown.json()["message"]

    # A file deleted: its chunks gone; the knowledge base deleted: everything in it.
    pdf = done["policy.pdf"]["id"]
    stack.ok("/delete/knowledgebase-file", {"file_ids": [pdf]})
    found = stack.search(who, "Can I fly business class?", knowledgebase_ids=[kb])
    assert all(m["info"].get("file_id") != pdf for m in found["memory_detail_list"])
    stack.ok("/delete/knowledgebase", {"knowledgebase_id": kb})
    assert (
        stack.ok("/get/knowledgebase-file", {"file_ids": [done["policy.md"]["id"]]})[
            "file_detail_list"
        ]
        == []
    )
    gone = stack.post("/search/memory", {"user_id": who, "query": "q", "knowledgebase_ids": [kb]})
    assert gone.json()["code"] == 40000


def test_skills_uploads_limits_and_unreadable_files(stack: Stack, monkeypatch) -> None:
    kb = knowledgebase(stack)
    skill = stack.ok(
        "/add/knowledgebase-file",
        {
            "knowledgebase_id": kb,
            "file": [
                {"name": "refund.md", "type": "skill", "content": data_url(SKILL)},
                {"name": "broken.md", "type": "skill", "content": data_url(b"no front matter")},
                {"name": "broken.pdf", "content": data_url(b"%PDF-1.4 not really")},
            ],
        },
    )
    done = settle(stack, skill)
    assert done["refund.md"]["status"] == "completed"
    assert done["broken.md"]["status"] == "failed" and "front matter" in done["broken.md"]["error"]
    assert done["broken.pdf"]["status"] == "failed" and ".pdf" in done["broken.pdf"]["error"]
    assert done["broken.pdf"]["chunks"] == 0
    found = stack.search(
        "anyone", "How do I get my money back for a train ticket?", include_skill=True
    )
    (first, *_) = found["skill_detail_list"]
    assert first["memory_key"] == "refund-a-ticket" and "Cancel" in first["memory_value"]

    # A multipart upload, the SDK's form.
    uploaded = stack.client.post(
        f"/api/openmem/v1/add/knowledgebase-file?knowledgebase_id={kb}",
        files=[("file", ("notes.txt", b"Parking at the office costs 5 euros.", "text/plain"))],
        headers={"Authorization": f"Token {stack.key}"},
    ).json()
    assert uploaded["code"] == 0
    assert settle(stack, uploaded["data"])["notes.txt"]["status"] == "completed"

    def refused(files: list[dict], knowledgebase_id: str = kb) -> dict:
        return stack.post(
            "/add/knowledgebase-file", {"knowledgebase_id": knowledgebase_id, "file": files}
        ).json()

    one = {"name": "a.txt", "content": data_url(b"x")}
    assert refused([one] * 21)["code"] == 40305
    assert refused([{**one, "name": "a.exe"}])["code"] == 40000
    assert refused([{**one, "content": "data:;base64,@@@"}])["code"] == 40000
    assert refused([{**one, "content": "ftp://example.com/a.txt"}])["code"] == 40000
    assert refused([one], knowledgebase_id="no-such-kb")["code"] == 40000
    monkeypatch.setattr(stack.runtime.settings, "max_kb_file_bytes", 10)
    assert refused([{**one, "content": data_url(b"x" * 11)}])["code"] == 40305


class Page(BaseHTTPRequestHandler):
    def do_GET(self) -> None:  # noqa: N802 (http.server's name)
        if self.path == "/moved":
            self.send_response(302)
            self.send_header("Location", "/guide.txt")
            self.end_headers()
            return
        body = GUIDE.encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def page_server():
    server = ThreadingHTTPServer(("127.0.0.1", 0), Page)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


def test_urls_are_fetched_and_private_ones_refused(stack: Stack, page_server, monkeypatch) -> None:
    kb = knowledgebase(stack)
    url = {
        "knowledgebase_id": kb,
        "file": [{"name": "guide.txt", "content": page_server + "/moved"}],
    }
    refused = settle(stack, stack.ok("/add/knowledgebase-file", url))["guide.txt"]
    assert refused["status"] == "failed" and "not a public address" in refused["error"]
    monkeypatch.setattr(stack.runtime.settings, "allow_private_urls", True)
    fetched = settle(stack, stack.ok("/add/knowledgebase-file", url))["guide.txt"]
    assert fetched["status"] == "completed" and fetched["url"].endswith("/moved")
    found = stack.search("anyone", "expense report deadline", knowledgebase_ids=[kb])
    assert "30 days" in found["memory_detail_list"][0]["memory_value"]


def test_adds_share_memories_with_the_project_and_knowledge_bases(stack: Stack) -> None:
    """allow_public: every user of the project finds what the add produced; a knowledge base
    in allow_knowledgebase_ids: searches of it find it. Not the messages behind it, not the
    user's preferences; gone when the user is erased, unshared when the base is deleted."""
    kb = knowledgebase(stack)
    alice, bob = f"alice-{uuid.uuid4().hex[:6]}", f"bob-{uuid.uuid4().hex[:6]}"

    def said(user: str, text: str, **sharing) -> None:
        task = stack.add(user, "c1", [{"role": "user", "content": text}], **sharing)["task_id"]
        assert stack.wait(task) == "completed"

    said(alice, "本季度报销截止时间是6月25日。我喜欢吃辣的菜。", allow_public=True)
    said(alice, "The office wifi password is kept by the front desk.", allow_knowledgebase_ids=[kb])
    said(alice, "My salary is paid on the 10th of each month.")

    def found(user: str, query: str, **extra) -> list[dict]:
        return stack.search(user, query, relativity=0.0, **extra)["memory_detail_list"]

    public = [m for m in found(bob, "报销截止时间是什么时候？") if "6月25日" in m["memory_value"]]
    assert public and public[0]["scope"] == "public" and public[0]["public"] is True
    assert public[0]["sources"] == []  # Alice's messages stay hers
    own = [m for m in found(alice, "报销截止时间") if "6月25日" in m["memory_value"]]
    assert own[0]["scope"] == "user" and own[0]["sources"][0]["content"].startswith("本季度")
    # Preferences are about their user: not shared.
    tastes = stack.search(bob, "我喜欢吃什么菜？")["preference_detail_list"]
    assert all("辣" not in p["preference"] for p in tastes)
    # Private memories stay private; a knowledge base's only to searches of it.
    assert not any("salary" in m["memory_value"] for m in found(bob, "When is the salary paid?"))
    wifi = "Who keeps the office wifi password?"
    assert not any("wifi" in m["memory_value"] for m in found(bob, wifi))
    shelved = [m for m in found(bob, wifi, knowledgebase_ids=[kb]) if "wifi" in m["memory_value"]]
    assert shelved and shelved[0]["scope"] == "knowledgebase"
    assert shelved[0]["knowledgebase_ids"] == [kb] and shelved[0]["sources"] == []

    unknown = stack.post(
        "/add/message",
        {
            "user_id": alice,
            "conversation_id": "c1",
            "messages": [{"role": "user", "content": "x"}],
            "allow_knowledgebase_ids": ["nope"],
        },
    ).json()
    assert unknown["code"] == 40000 and "allow_knowledgebase_ids" in unknown["message"]

    # The knowledge base deleted: Alice's memory is hers still, shared with it no more.
    stack.ok("/delete/knowledgebase", {"knowledgebase_id": kb})
    mine = stack.ok("/get/memory", {"user_id": alice, "size": 50})["memory_detail_list"]
    wifi_memory = next(m for m in mine if "wifi" in m["memory_value"])
    assert wifi_memory["knowledgebase_ids"] == [] and wifi_memory["public"] is False
    # Alice erased: what she shared is gone with her.
    stack.ok("/delete/user", {"user_id": alice})
    assert not any("6月25日" in m["memory_value"] for m in found(bob, "报销截止时间是什么时候？"))
