"""API keys: `mpg-` + 256 random bits, stored only as a sha256 digest, each bound to a project."""

import hashlib
import secrets
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from services.gateway.keys import repository
from shared.clock import now_ms
from shared.db.models import ApiKey, Project
from shared.errors import InvalidApiKey

KEY_PREFIX = "mpg-"
# A revoked key stops working within this many seconds on every gateway process.
CACHE_SECONDS = 5.0


@dataclass(frozen=True)
class AuthenticatedProject:
    project_id: str
    key_id: str


def hash_key(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def create_key(session: Session, project_id: str, name: str | None = None) -> tuple[ApiKey, str]:
    """Returns the row and the key itself, which is never stored and cannot be shown again."""
    if repository.get_project(session, project_id) is None:
        try:
            with session.begin_nested():
                session.add(Project(id=project_id, create_time=now_ms()))
        except IntegrityError:
            pass  # created at the same moment by another caller
    key = KEY_PREFIX + secrets.token_urlsafe(32)
    row = ApiKey(
        id=str(uuid.uuid4()),
        project_id=project_id,
        key_hash=hash_key(key),
        prefix=key[:12],
        name=name,
        create_time=now_ms(),
    )
    session.add(row)
    session.flush()
    return row, key


def revoke_key(session: Session, key_id_or_prefix: str) -> list[ApiKey]:
    """By key id, a unique start of it, or a unique start of the key itself."""
    keys = repository.list_keys(session, None)
    rows = [r for r in keys if r.id == key_id_or_prefix] or [
        r
        for r in keys
        if r.id.startswith(key_id_or_prefix)
        or key_id_or_prefix.startswith(r.prefix)
        or r.prefix.startswith(key_id_or_prefix)
    ]
    if len(rows) != 1:
        raise LookupError(f"{len(rows)} keys match {key_id_or_prefix!r}: give the full key id")
    rows[0].revoke_time = rows[0].revoke_time or now_ms()
    return rows


def key_is_active(session: Session, key: str) -> bool:
    row = repository.find_key_by_hash(session, hash_key(key))
    return row is not None and row.revoke_time is None


class KeyCache:
    """Authentication on every request must not cost a SQL round trip."""

    def __init__(self) -> None:
        self._entries: dict[str, tuple[float, AuthenticatedProject | None]] = {}
        self._lock = threading.Lock()

    def cached(self, key: str) -> AuthenticatedProject | None:
        """The key's project when known (without a SQL query), None when it must be looked
        up; raises for a key known to be invalid."""
        entry = self._entries.get(hash_key(key))
        if entry is None or time.monotonic() - entry[0] > CACHE_SECONDS:
            return None
        if entry[1] is None:
            raise InvalidApiKey()
        return entry[1]

    def was_valid(self, key: str) -> bool:
        """Whether the key was valid when last looked up, however long ago (within the cache's
        size): it may be looked up again while its client's address is held back."""
        entry = self._entries.get(hash_key(key))
        return entry is not None and entry[1] is not None

    def look_up(self, session_factory: Callable[[], Session], key: str) -> AuthenticatedProject:
        """Reads the key from SQL and remembers the answer for CACHE_SECONDS."""
        digest = hash_key(key)
        with session_factory() as session:
            row = repository.find_key_by_hash(session, digest)
        subject = (
            AuthenticatedProject(row.project_id, row.id)
            if row is not None and row.revoke_time is None
            else None
        )
        with self._lock:
            if len(self._entries) > 100_000:
                self._entries.clear()
            self._entries[digest] = (time.monotonic(), subject)
        if subject is None:
            raise InvalidApiKey()
        return subject
