from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.exceptions import RequestValidationError
from pydantic import ValidationError

from services.gateway.deps import CurrentGateway, CurrentProject
from services.gateway.knowledge import service
from services.gateway.knowledge.schemas import (
    AddKnowledgebaseFileRequest,
    CreateKnowledgebaseRequest,
    DeleteKnowledgebaseFileRequest,
    DeleteKnowledgebaseRequest,
    FileType,
    GetKnowledgebaseFileRequest,
)
from shared.errors import InvalidParameter, MissingParameter
from shared.http import JSONBytes, ok

router = APIRouter()


@router.post("/create/knowledgebase")
def create_knowledgebase(
    body: CreateKnowledgebaseRequest, project: CurrentProject, gateway: CurrentGateway
) -> JSONBytes:
    """A knowledge base of the project: documents and skills searched beside memories."""
    return ok(service.create(gateway.runtime.db, project.project_id, body))


@router.post("/delete/knowledgebase")
def delete_knowledgebase(
    body: DeleteKnowledgebaseRequest, project: CurrentProject, gateway: CurrentGateway
) -> JSONBytes:
    """The knowledge base with its files and their chunks, in SQL and in the index."""
    service.delete(gateway.runtime.db, gateway.retriever, project.project_id, body.knowledgebase_id)
    return ok({"success": True})


@router.post("/add/knowledgebase-file")
async def add_knowledgebase_file(
    request: Request,
    project: CurrentProject,
    gateway: CurrentGateway,
    knowledgebase_id: Annotated[str | None, Query(max_length=36)] = None,
    type: Annotated[FileType | None, Query()] = None,
) -> JSONBytes:
    """Files for a knowledge base, as JSON (`{knowledgebase_id, file: [{name, type, content}]}`,
    content a base64 `data:` URL or an http(s) URL) or as a multipart form (`file` parts;
    `knowledgebase_id` and `type` in the query). Each is parsed, chunked, embedded and indexed
    by a job; its status is at get/knowledgebase-file."""
    runtime = gateway.runtime
    if request.headers.get("content-type", "").startswith("multipart/form-data"):
        limit = runtime.settings.max_kb_files_per_add
        form = await request.form(max_files=limit + 1 if limit else 1000)
        kb_id = knowledgebase_id or form.get("knowledgebase_id")
        if not isinstance(kb_id, str) or not kb_id:
            raise MissingParameter("knowledgebase_id")
        parts = [part for part in form.getlist("file") if not isinstance(part, str)]
        if not parts:
            raise MissingParameter("file")
        uploads = [
            service.Upload(part.filename or "file", type or "document", await part.read(), None)
            for part in parts
        ]
    else:
        try:
            body = AddKnowledgebaseFileRequest.model_validate_json(await request.body())
        except ValidationError as exc:
            raise RequestValidationError(exc.errors()) from None
        except ValueError as exc:
            raise InvalidParameter("body", f"is not JSON ({exc})") from None
        kb_id, uploads = body.knowledgebase_id, [service.received(f) for f in body.file]
    added = await run_in_threadpool(
        service.add_files,
        runtime.db,
        runtime.queue,
        runtime.settings,
        project.project_id,
        kb_id,
        uploads,
    )
    return ok(added)


@router.post("/get/knowledgebase-file")
def get_knowledgebase_file(
    body: GetKnowledgebaseFileRequest, project: CurrentProject, gateway: CurrentGateway
) -> JSONBytes:
    """Files by `file_ids`, or a knowledge base's (paged, `type` optional), each with its
    processing `status` (processing, completed, failed with `error`) and `chunks`."""
    return ok(service.get_files(gateway.runtime.db, project.project_id, body))


@router.post("/delete/knowledgebase-file")
def delete_knowledgebase_file(
    body: DeleteKnowledgebaseFileRequest, project: CurrentProject, gateway: CurrentGateway
) -> JSONBytes:
    """The files and their chunks."""
    service.delete_files(gateway.runtime.db, gateway.retriever, project.project_id, body.file_ids)
    return ok({"success": True})
