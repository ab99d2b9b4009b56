"""Knowledge base files: fetched (http(s) URLs, never into the service's own network unless
ALLOW_PRIVATE_URLS), read as text (.txt, .md, .pdf, .docx, .html, .json), and cut into
chunks; a skill (a markdown procedure with `name` and `description` front matter) is one
chunk of its own. Offline parsers from PyPI: pypdf, python-docx, Beautiful Soup."""

import io
import json
import re
from dataclasses import dataclass
from urllib.parse import urljoin

import httpx

from shared.urls import RefusedUrl, check_url

FORMATS = (".txt", ".md", ".markdown", ".pdf", ".docx", ".html", ".htm", ".json")
CHUNK_CHARS = 800  # a chunk: paragraphs joined up to this many characters
MAX_REDIRECTS = 3
FRONT_MATTER = re.compile(r"\A---\s*\n(.*?)\n---\s*\n?(.*)\Z", re.S)
SENTENCE_END = re.compile(r"(?<=[.!?。！？])\s*")


class Unreadable(ValueError):
    """A file that cannot be read: the reason, for the file's `error`."""


@dataclass(frozen=True)
class Skill:
    name: str
    description: str
    body: str


def suffix(name: str) -> str:
    lowered = name.lower()
    return next((f for f in FORMATS if lowered.endswith(f)), "")


def text_of(name: str, data: bytes) -> str:
    """The file's text, by its name's extension."""
    kind = suffix(name)
    try:
        if kind == ".pdf":
            from pypdf import PdfReader

            pages = PdfReader(io.BytesIO(data)).pages
            return "\n\n".join(page.extract_text() or "" for page in pages)
        if kind == ".docx":
            from docx import Document

            return "\n\n".join(p.text for p in Document(io.BytesIO(data)).paragraphs)
        text = data.decode("utf-8")
        if kind in (".html", ".htm"):
            from bs4 import BeautifulSoup

            soup = BeautifulSoup(text, "html.parser")
            for hidden in soup(["script", "style", "noscript"]):
                hidden.decompose()
            return "\n\n".join(s for s in soup.get_text("\n").split("\n") if s.strip())
        if kind == ".json":
            return json.dumps(json.loads(text), ensure_ascii=False, indent=1)
        if kind:
            return text
    except UnicodeDecodeError:
        raise Unreadable(f"{name}: not UTF-8 text") from None
    except Exception as exc:
        raise Unreadable(f"{name}: cannot be read as {kind} ({type(exc).__name__})") from exc
    raise Unreadable(f"{name}: unsupported format (supported: {', '.join(FORMATS)})")


def chunks(text: str, size: int = CHUNK_CHARS) -> list[str]:
    """Paragraphs joined up to `size` characters; a longer paragraph cut at sentences (a
    longer sentence at `size`)."""
    pieces: list[str] = []
    for paragraph in re.split(r"\n\s*\n", text):
        paragraph = " ".join(paragraph.split())
        if len(paragraph) <= size:
            pieces.append(paragraph)
            continue
        for sentence in SENTENCE_END.split(paragraph):
            pieces += [sentence[i : i + size] for i in range(0, len(sentence), size)]
    found: list[str] = []
    for piece in (p for p in pieces if p):
        if found and len(found[-1]) + len(piece) + 1 <= size:
            found[-1] += "\n" + piece
        else:
            found.append(piece)
    return found


def skill_of(name: str, text: str) -> Skill:
    match = FRONT_MATTER.match(text.lstrip("\ufeff"))
    fields: dict[str, str] = {}
    if match:
        for line in match.group(1).splitlines():
            key, _, value = line.partition(":")
            fields[key.strip().lower()] = value.strip().strip("\"'")
    if not fields.get("name") or not fields.get("description"):
        raise Unreadable(f"{name}: a skill needs front matter with `name` and `description`")
    return Skill(fields["name"], fields["description"], match.group(2).strip() if match else "")


def fetch(url: str, allow_private: bool, max_bytes: int, timeout: float) -> bytes:
    """The body at `url`, following at most MAX_REDIRECTS redirects, each target checked."""
    with httpx.Client(timeout=timeout, follow_redirects=False) as client:
        for _ in range(MAX_REDIRECTS + 1):
            try:
                check_url(url, allow_private)
            except RefusedUrl as exc:
                raise Unreadable(str(exc)) from None
            with client.stream("GET", url) as response:
                if response.is_redirect and "location" in response.headers:
                    url = urljoin(url, response.headers["location"])
                    continue
                if response.status_code != 200:
                    raise Unreadable(f"{url[:200]}: HTTP {response.status_code}")
                body = bytearray()
                for part in response.iter_bytes():
                    body += part
                    if len(body) > max_bytes:
                        raise Unreadable(f"{url[:200]}: over {max_bytes} bytes")
                return bytes(body)
    raise Unreadable(f"{url[:200]}: more than {MAX_REDIRECTS} redirects")
