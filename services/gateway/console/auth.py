"""The console's admin and sessions. One admin, `admin`, who sees every project (README,
"Console"). Passwords are kept as scrypt hashes; a session is a random 256-bit token in an
HttpOnly, SameSite=Strict cookie, of which only the SHA-256 is stored, with a CSRF token its
forms carry. A new password ends every session."""

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import delete

from shared.clock import now_ms
from shared.db.models import ConsoleAdmin, ConsoleSession
from shared.db.session import Database

ADMIN = "admin"
SESSION_HOURS = 12
MIN_PASSWORD = 12
# scrypt's cost: 16 MiB and ~50 ms here, slow for guessing, quick enough to sign in.
N, R, P = 2**14, 8, 1


def hash_password(password: str) -> str:
    salt = secrets.token_bytes(16)
    digest = hashlib.scrypt(password.encode(), salt=salt, n=N, r=R, p=P)
    return f"scrypt${N}${R}${P}${salt.hex()}${digest.hex()}"


def password_matches(password: str, stored: str) -> bool:
    try:
        scheme, n, r, p, salt, digest = stored.split("$")
        found = hashlib.scrypt(
            password.encode(), salt=bytes.fromhex(salt), n=int(n), r=int(r), p=int(p)
        )
    except ValueError:
        return False
    return scheme == "scrypt" and hmac.compare_digest(found.hex(), digest)


def set_password(db: Database, password: str) -> None:
    """The admin's password, made or changed; every session ends."""
    if len(password) < MIN_PASSWORD:
        raise ValueError(f"a console password has at least {MIN_PASSWORD} characters")
    with db.transaction() as session:
        admin = session.get(ConsoleAdmin, ADMIN)
        if admin is None:
            session.add(ConsoleAdmin(name=ADMIN, password_hash="", update_time=0))
            session.flush()
            admin = session.get(ConsoleAdmin, ADMIN)
        assert admin is not None
        admin.password_hash, admin.update_time = hash_password(password), now_ms()
        session.execute(delete(ConsoleSession))


def check_password(db: Database, password: str) -> bool:
    with db.session() as session:
        admin = session.get(ConsoleAdmin, ADMIN)
        stored = admin.password_hash if admin else None
    if stored is None:
        hash_password(password)  # as long as a real check: no hint there is no admin
        return False
    return password_matches(password, stored)


def bootstrap_password(db: Database, data_dir: Path) -> str | None:
    """On a fresh data dir, an admin with a random password kept in data_dir/console-password
    (like the API key) so `make run` can print it; None once it has been changed."""
    path = data_dir / "console-password"
    with db.session() as session:
        admin = session.get(ConsoleAdmin, ADMIN)
        stored = admin.password_hash if admin else None
    if stored is not None:
        kept = path.read_text().strip() if path.exists() else None
        return kept if kept and password_matches(kept, stored) else None
    password = secrets.token_urlsafe(12)
    set_password(db, password)
    path.write_text(password + "\n")
    path.chmod(0o600)
    return password


@dataclass(frozen=True)
class SignedIn:
    admin: str
    csrf_token: str


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def open_session(db: Database) -> str:
    """A new session's token (for the cookie)."""
    token, now = secrets.token_urlsafe(32), now_ms()
    with db.transaction() as session:
        session.execute(delete(ConsoleSession).where(ConsoleSession.expire_time < now))
        session.add(
            ConsoleSession(
                token_hash=_digest(token),
                admin=ADMIN,
                csrf_token=secrets.token_urlsafe(32),
                create_time=now,
                expire_time=now + SESSION_HOURS * 3_600_000,
            )
        )
    return token


def signed_in(db: Database, token: str | None) -> SignedIn | None:
    if not token:
        return None
    with db.session() as session:
        found = session.get(ConsoleSession, _digest(token))
        if found is None or found.expire_time < now_ms():
            return None
        return SignedIn(found.admin, found.csrf_token)


def close_session(db: Database, token: str | None) -> None:
    if token:
        with db.transaction() as session:
            session.execute(
                delete(ConsoleSession).where(ConsoleSession.token_hash == _digest(token))
            )
