from sqlalchemy import select
from sqlalchemy.orm import Session

from shared.db.models import ApiKey, Project


def get_project(session: Session, project_id: str) -> Project | None:
    return session.get(Project, project_id)


def find_key_by_hash(session: Session, key_hash: str) -> ApiKey | None:
    return session.scalar(select(ApiKey).where(ApiKey.key_hash == key_hash))


def list_keys(session: Session, project_id: str | None) -> list[ApiKey]:
    query = select(ApiKey).order_by(ApiKey.create_time)
    if project_id:
        query = query.where(ApiKey.project_id == project_id)
    return list(session.scalars(query))
