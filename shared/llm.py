"""The LLM behind LLM_BASE_URL: any OpenAI-compatible chat endpoint."""

import time
from collections.abc import Generator

from openai import Omit, OpenAI, omit
from openai.types.chat import ChatCompletionMessageParam
from openai.types.shared_params import ResponseFormatJSONObject

from shared.config import Settings
from shared.metrics import LLM_SECONDS


class Llm:
    """A chat model on an endpoint; `answer_attempts` is how many times a caller may ask
    again for an answer it rejects (LLM_MAX_RETRIES + 1)."""

    def __init__(self, client: OpenAI, model: str, answer_attempts: int) -> None:
        self.client, self.model, self.answer_attempts = client, model, answer_attempts

    def chat(
        self,
        messages: list[ChatCompletionMessageParam],
        purpose: str,
        json_output: bool = False,
        temperature: float = 0.0,
        max_tokens: int | None = None,
        top_p: float | None = None,
    ) -> str:
        response_format: ResponseFormatJSONObject | Omit = (
            {"type": "json_object"} if json_output else omit
        )
        started = time.perf_counter()
        outcome = "error"
        try:
            response = self.client.chat.completions.create(
                model=self.model,
                messages=messages,
                temperature=temperature,
                response_format=response_format,
                max_tokens=omit if max_tokens is None else max_tokens,
                top_p=omit if top_p is None else top_p,
            )
            outcome = "ok"
        finally:
            LLM_SECONDS.labels(purpose, outcome).observe(time.perf_counter() - started)
        return response.choices[0].message.content or ""

    def stream(
        self,
        messages: list[ChatCompletionMessageParam],
        purpose: str,
        temperature: float = 0.0,
        max_tokens: int | None = None,
        top_p: float | None = None,
    ) -> Generator[str, None, None]:
        """The answer's text as the endpoint streams it; closing the iterator closes the
        connection (the endpoint stops generating)."""
        started = time.perf_counter()
        outcome = "error"
        chunks = self.client.chat.completions.create(
            model=self.model,
            messages=messages,
            temperature=temperature,
            max_tokens=omit if max_tokens is None else max_tokens,
            top_p=omit if top_p is None else top_p,
            stream=True,
        )
        try:
            for chunk in chunks:
                if chunk.choices and chunk.choices[0].delta.content:
                    yield chunk.choices[0].delta.content
            outcome = "ok"
        finally:
            chunks.close()
            LLM_SECONDS.labels(purpose, outcome).observe(time.perf_counter() - started)

    def close(self) -> None:
        self.client.close()


def build_llm(settings: Settings) -> Llm | None:
    """None without LLM_BASE_URL and LLM_MODEL: the rule-based extractor's offline default."""
    if not settings.llm_enabled or settings.llm_model is None:  # the model: for the type
        return None
    client = OpenAI(
        base_url=settings.llm_base_url,
        api_key=settings.llm_api_key,
        timeout=settings.llm_timeout,
        max_retries=2,
    )
    return Llm(client, settings.llm_model, settings.llm_max_retries + 1)
