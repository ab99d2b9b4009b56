"""A user's bound profiles filled from the memories a job writes (shared/profiles.py)."""

import re
from typing import Any

from sqlalchemy.orm import Session

from services.extractor.profile import ATTRIBUTION, attributes
from shared.db.models import Memory
from shared.profiles import subject_profiles, template_fields
from shared.text import language
from shared.vector_store import PREFERENCES

MAX_PREFERENCES = 10  # kept in the `preferences` field, newest first
NAME = re.compile(
    r"(?:^|[。.;；]\s*)(?:the user's name is|the user is called|用户叫|用户的名字是|用户名叫)\s*"
    r"([A-Z][a-z]+(?: [A-Z][a-z]+)?|[\u4e00-\u9fff]{2,4})",
    re.I,
)
FAMILY = re.compile(
    r"(?:(?i:the user's )|用户(?:的)?)(daughter|son|wife|husband|mother|father|mom|dad|sister|brother|"
    r"partner|女儿|儿子|妻子|老婆|丈夫|老公|妈妈|母亲|爸爸|父亲|姐姐|妹妹|哥哥|弟弟)\s*"
    r"(?:named |called |叫)?([A-Z][a-z]+|[\u4e00-\u9fff]{1,3}(?=[，,。.；\s]|$))?"
)
DIET = re.compile(
    r"vegetarian|vegan|allergic|allergy|gluten|lactose|spicy|halal|kosher|diet\b|"
    r"过敏|吃素|素食|不吃|忌口|辣|清淡|减肥|节食",
    re.I,
)
LANGUAGES = {"zh": "中文", "en": "English"}


def _found(memory: Memory) -> dict[str, str]:
    """What one memory says of the default fields."""
    text = ATTRIBUTION.sub("", memory.memory_value)
    found: dict[str, str] = {}
    if memory.kind in PREFERENCES:
        if DIET.search(text):
            found["diet"] = text.rstrip("。.")
        return found
    said = attributes(memory.memory_value)
    if "residence" in said:
        found["city"] = (
            said["residence"].title() if said["residence"].isascii() else said["residence"]
        )
    if "job" in said:
        found["job"] = said["job"]
    if name := NAME.search(text):
        found["name"] = name.group(1)
    members = [
        f"{relation} {who}".strip() if language(relation) == "en" else f"{relation}{who or ''}"
        for relation, who in FAMILY.findall(text)
    ]
    if members:
        found["family"] = ", ".join(dict.fromkeys(members))
    return found


def fill(
    session: Session,
    project_id: str,
    user_id: str,
    written: list[Memory],
    archived: list[str],
    said_in: str | None,
    now: int,
) -> None:
    """The user's bound profiles after a job: fields its memories speak of set (an edited
    value stays), its preferences first in `preferences`, the archived ones gone from it, and
    the language the user wrote in."""
    for profile in subject_profiles(session, project_id, "user", user_id):
        names = {f["name"] for f in template_fields(session, project_id, profile.template_id)}
        values = _filled(dict(profile.values), names, written, set(archived), said_in, now)
        if values != profile.values:
            profile.values, profile.update_time = values, now


def _filled(
    values: dict[str, Any],
    names: set[str],
    written: list[Memory],
    gone: set[str],
    said_in: str | None,
    now: int,
) -> dict[str, Any]:
    def free(field: str) -> bool:
        return field in names and values.get(field, {}).get("source") != "edited"

    def put(field: str, value: Any, memory_id: str | None, **more: Any) -> None:
        if free(field):
            values[field] = {
                "value": value,
                "source": "memory",
                "memory_id": memory_id,
                "update_time": now,
                **more,
            }

    current = [m for m in written if m.status == "activated"]
    for memory in current:
        for field, value in _found(memory).items():
            put(field, value, memory.id)
    if said_in:
        put("language", LANGUAGES[said_in], None)
    if free("preferences"):
        kept = [
            p for p in values.get("preferences", {}).get("items", []) if p["memory_id"] not in gone
        ]
        new = [
            {"value": m.memory_value, "memory_id": m.id} for m in current if m.kind in PREFERENCES
        ]
        items = (new[::-1] + kept)[:MAX_PREFERENCES]
        if items or "preferences" in values:
            put(
                "preferences",
                [p["value"] for p in items],
                items[0]["memory_id"] if items else None,
                items=items,
            )
    return values
