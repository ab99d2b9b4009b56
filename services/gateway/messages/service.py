"""Reading back what was accepted: jobs and the raw messages (adds go through `ingest`)."""

from services.gateway.messages import repository
from shared.db.models import Job, Message
from shared.db.session import Database
from shared.errors import TaskNotFound


def get_job(db: Database, project_id: str, task_id: str) -> Job:
    with db.session() as session:
        job = repository.get_job(session, project_id, task_id)
    if job is None:
        raise TaskNotFound(f"job '{task_id}' not found")
    return job


def get_messages(
    db: Database, project_id: str, user_id: str, conversation_id: str, last: int | None
) -> list[Message]:
    with db.session() as session:
        return repository.conversation_messages(session, project_id, user_id, conversation_id, last)
