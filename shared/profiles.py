"""Profiles: a template is a set of named fields; a template bound to a user (or an agent)
holds that subject's values. The built-in template `default` always exists; a project adds its
own (`memos profiles add-template`). A user's values are filled from their memories as
extraction writes them (profile facts and preferences: where they live, their job, family,
diet, language, preferences), and edited by `edit/profile`; an edited value stays until
edited again or removed. Agents' profiles are filled by edits only."""

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from shared.db.models import Profile, ProfileTemplate

DEFAULT_ID = "default"
DEFAULT_FIELDS = [
    {"name": "name", "description": "what the user is called"},
    {"name": "city", "description": "where the user lives"},
    {"name": "job", "description": "what the user does for a living"},
    {"name": "family", "description": "the people the user lives with or speaks of"},
    {"name": "diet", "description": "what the user eats, avoids or is allergic to"},
    {"name": "language", "description": "the language the user writes in"},
    {"name": "preferences", "description": "what the user likes and dislikes"},
]


def template_fields(session: Session, project_id: str, template_id: str) -> list[dict[str, str]]:
    """The template's fields; [] when the project has no such template."""
    if template_id == DEFAULT_ID:
        return DEFAULT_FIELDS
    template = session.get(ProfileTemplate, (project_id, template_id))
    return template.fields if template is not None else []


def template_name(session: Session, project_id: str, template_id: str) -> str:
    if template_id == DEFAULT_ID:
        return "Default"
    template = session.get(ProfileTemplate, (project_id, template_id))
    return template.name if template is not None else template_id


def subject_profiles(
    session: Session, project_id: str, kind: str, subject_id: str
) -> list[Profile]:
    return list(
        session.scalars(
            select(Profile)
            .where(
                Profile.project_id == project_id,
                Profile.subject_kind == kind,
                Profile.subject_id == subject_id,
            )
            .order_by(Profile.template_id)
        )
    )


def shown(session: Session, profile: Profile) -> dict[str, Any]:
    """A profile as the API shows it: its template, the values, and where each came from."""
    return {
        "profile_template_id": profile.template_id,
        "template_name": template_name(session, profile.project_id, profile.template_id),
        f"{profile.subject_kind}_id": profile.subject_id,
        "fields": {name: v["value"] for name, v in profile.values.items()},
        "sources": {
            name: v.get("memory_id") if v["source"] == "memory" else "edited"
            for name, v in profile.values.items()
        },
        "create_time": profile.create_time,
        "update_time": profile.update_time,
    }


def user_profiles(session: Session, project_id: str, user_id: str) -> list[dict[str, Any]]:
    return [shown(session, p) for p in subject_profiles(session, project_id, "user", user_id)]
