"""The LLM behind LLM_BASE_URL: any OpenAI-compatible chat endpoint."""

import logging
import time
from functools import lru_cache

from openai import Omit, OpenAI, omit
from openai.types.chat import ChatCompletionMessageParam
from openai.types.shared_params import ResponseFormatJSONObject

from shared.config import get_settings
from shared.metrics import LLM_SECONDS

log = logging.getLogger(__name__)


@lru_cache
def get_llm() -> OpenAI | None:
    settings = get_settings()
    if not settings.llm_enabled:
        return None
    return OpenAI(
        base_url=settings.llm_base_url,
        api_key=settings.llm_api_key,
        timeout=settings.llm_timeout,
        max_retries=2,
    )


def chat(
    messages: list[ChatCompletionMessageParam],
    purpose: str,
    json_output: bool = False,
    temperature: float = 0.0,
) -> str:
    client, model = get_llm(), get_settings().llm_model
    if client is None or model is None:
        raise RuntimeError("no LLM configured (set LLM_BASE_URL and LLM_MODEL)")
    response_format: ResponseFormatJSONObject | Omit = (
        {"type": "json_object"} if json_output else omit
    )
    started = time.perf_counter()
    outcome = "error"
    try:
        response = client.chat.completions.create(
            model=model,
            messages=messages,
            temperature=temperature,
            response_format=response_format,
        )
        outcome = "ok"
    finally:
        LLM_SECONDS.labels(purpose, outcome).observe(time.perf_counter() - started)
    return response.choices[0].message.content or ""
