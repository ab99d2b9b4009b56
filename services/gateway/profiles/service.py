"""Binding, editing and deleting profiles for one project (shared/profiles.py)."""

from typing import Any

from sqlalchemy.orm import Session

from services.gateway.profiles.schemas import (
    BindProfileTemplateRequest,
    DeleteProfileRequest,
    EditProfileRequest,
    Subject,
)
from shared.clock import now_ms
from shared.db.models import Profile
from shared.db.session import Database
from shared.errors import InvalidParameter, echo
from shared.profiles import shown, template_fields


def _bound(session: Session, project_id: str, subject: Subject) -> Profile:
    key = (project_id, subject.kind, subject.subject_id, subject.profile_template_id)
    profile = session.get(Profile, key)
    if profile is None:
        raise InvalidParameter(
            "profile_template_id",
            f"{echo(subject.profile_template_id)} is not bound to {subject.kind} "
            f"{echo(subject.subject_id)}: bind it first (bind/profile_template)",
        )
    return profile


def bind(db: Database, project_id: str, request: BindProfileTemplateRequest) -> dict[str, Any]:
    """Binds each template to its subject (binding again changes nothing)."""
    now = now_ms()
    with db.transaction() as session:
        bound = []
        for item in request.bind_list:
            if not template_fields(session, project_id, item.profile_template_id):
                raise InvalidParameter(
                    "bind_list.profile_template_id",
                    f"no template {echo(item.profile_template_id)} in this project",
                )
            key = (project_id, item.kind, item.subject_id, item.profile_template_id)
            profile = session.get(Profile, key)
            if profile is None:
                profile = Profile(
                    project_id=project_id,
                    subject_kind=item.kind,
                    subject_id=item.subject_id,
                    template_id=item.profile_template_id,
                    values={},
                    create_time=now,
                    update_time=now,
                )
                session.add(profile)
                session.flush()
            bound.append(shown(session, profile))
    return {"success": True, "bound": bound}


def edit(db: Database, project_id: str, request: EditProfileRequest) -> dict[str, Any]:
    """Sets the fields of `metadata` (edited values stay until edited again or removed) and
    removes `remove_fields` (the next memory that speaks of one fills it again)."""
    now = now_ms()
    with db.transaction() as session:
        profile = _bound(session, project_id, request)
        names = [f["name"] for f in template_fields(session, project_id, profile.template_id)]
        asked = [*(request.metadata or {}), *(request.remove_fields or [])]
        unknown = [name for name in asked if name not in names]
        if unknown:
            raise InvalidParameter(
                "metadata",
                f"{echo(unknown[0])} is no field of template {echo(profile.template_id)} "
                f"(its fields: {', '.join(names)})",
            )
        values = dict(profile.values)
        for name, value in (request.metadata or {}).items():
            values[name] = {"value": value, "source": "edited", "update_time": now}
        for name in request.remove_fields or []:
            values.pop(name, None)
        profile.values, profile.update_time = values, now
        session.flush()
        return {"success": True, "profile": shown(session, profile)}


def delete(db: Database, project_id: str, request: DeleteProfileRequest) -> dict[str, Any]:
    """The subject's profile of that template, values and binding."""
    with db.transaction() as session:
        session.delete(_bound(session, project_id, request))
    return {"success": True}
