"""An OpenAI-compatible chat endpoint on localhost for tests: answers from a script the test
sets, or, by default, like a sensible extraction model would."""

import asyncio
import json
import re
import threading
import time
from collections import deque
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager

import uvicorn
from fastapi import FastAPI, Request
from fastapi.responses import StreamingResponse

from shared.llm import Llm
from tests.e2e.process import free_port

LINE = re.compile(r"^\[(\d+)\] (user|assistant)(?: \([^)]*\))?: (.*)$")


def default_extraction(dialogue: str) -> str:
    """One memory per user line, written the way the prompt asks."""
    memories = []
    for line in dialogue.splitlines():
        match = LINE.match(line)
        if match and match.group(2) == "user":
            text = match.group(3)
            memories.append(
                {
                    "key": text[:10],
                    "value": f"用户提到：{text}",
                    "speaker": "user",
                    "tags": ["llm"],
                    "memory_time": None,
                    "confidence": 0.95,
                    "sources": [int(match.group(1))],
                }
            )
    return json.dumps({"memories": memories}, ensure_ascii=False)


class FakeLLM:
    def __init__(self) -> None:
        self.replies: deque[str] = deque()
        self.answers: deque[str] = deque()  # for requests that ask for no JSON (chat), first
        self.requests: list[dict] = []
        self.delay = 0.0  # seconds each extraction answer takes
        self.chunk_delay = 0.0  # seconds between the chunks of a streamed answer
        self.streams: list[dict] = []  # per streamed answer: chunks sent, whether it finished
        self.client: Llm | None = None  # an Llm on this endpoint, set by the fixture
        self.app = FastAPI()

        @self.app.post("/v1/chat/completions", response_model=None)
        async def completions(request: Request) -> dict | StreamingResponse:
            body = await request.json()
            self.requests.append(body)
            if body.get("response_format") and self.delay:
                await asyncio.sleep(self.delay)
            if self.answers and not body.get("response_format"):
                content = self.answers.popleft()
            elif self.replies:
                content = self.replies.popleft()
            elif body.get("response_format", {}).get("type") == "json_object":
                content = default_extraction(body["messages"][-1]["content"])
            else:
                content = "LLM-WRITTEN PROMPT: " + body["messages"][-1]["content"][-40:]
            if body.get("stream"):
                return StreamingResponse(
                    self._chunks(body, content), media_type="text/event-stream"
                )
            return {
                "id": "chatcmpl-test",
                "object": "chat.completion",
                "created": int(time.time()),
                "model": body["model"],
                "choices": [
                    {
                        "index": 0,
                        "finish_reason": "stop",
                        "message": {"role": "assistant", "content": content},
                    }
                ],
                "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2},
            }

    async def _chunks(self, body: dict, content: str) -> AsyncIterator[str]:
        """The answer as OpenAI streams it: a chunk per word, then the finish, then [DONE]."""
        record = {"chunks": 0, "finished": False}
        self.streams.append(record)
        pieces = re.findall(r"\S+\s*", content) or [content]
        for piece in pieces:
            chunk = {"index": 0, "delta": {"content": piece}, "finish_reason": None}
            yield "data: " + json.dumps(self._chunk(body, chunk), ensure_ascii=False) + "\n\n"
            record["chunks"] += 1
            await asyncio.sleep(self.chunk_delay)
        done = {"index": 0, "delta": {}, "finish_reason": "stop"}
        yield "data: " + json.dumps(self._chunk(body, done)) + "\n\ndata: [DONE]\n\n"
        record["finished"] = True

    @staticmethod
    def _chunk(body: dict, choice: dict) -> dict:
        return {
            "id": "chatcmpl-test",
            "object": "chat.completion.chunk",
            "created": int(time.time()),
            "model": body["model"],
            "choices": [choice],
        }

    @property
    def extraction_requests(self) -> list[dict]:
        return [r for r in self.requests if r.get("response_format")]


@contextmanager
def fake_llm_server() -> Iterator[tuple[FakeLLM, str]]:
    fake = FakeLLM()
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(fake.app, host="127.0.0.1", port=port, log_level="warning")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.01)
    try:
        yield fake, f"http://127.0.0.1:{port}/v1"
    finally:
        server.should_exit = True
        thread.join(timeout=5)
