import time
from datetime import datetime


def now_ms() -> int:
    return int(time.time() * 1000)


# The spellings of a chat_time besides ISO 8601; LoCoMo's "1:56 pm on 8 May, 2023" is the last.
CHAT_TIME_FORMATS = (
    "%Y-%m-%d %H:%M:%S",
    "%Y-%m-%dT%H:%M:%S",
    "%Y-%m-%d %H:%M",
    "%Y-%m-%d",
    "%Y/%m/%d %H:%M:%S",
    "%Y/%m/%d",
    "%I:%M %p on %d %B, %Y",
)


def read_chat_time(text: str) -> datetime | None:
    """A chat_time in any spelling the service reads, or None."""
    text = text.strip()
    try:
        return datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        pass
    for fmt in CHAT_TIME_FORMATS:
        try:
            return datetime.strptime(text, fmt)
        except ValueError:
            continue
    return None
