"""Requests of the knowledge base endpoints."""

from typing import Literal

from pydantic import Field, model_validator

from services.gateway.messages.schemas import StorableText
from shared.schemas import MAX_COUNT, ApiRequest

KnowledgebaseId = Field(min_length=1, max_length=36)
FileType = Literal["document", "skill"]


class CreateKnowledgebaseRequest(ApiRequest):
    knowledgebase_name: StorableText = Field(min_length=1, max_length=200)
    knowledgebase_description: StorableText | None = Field(None, max_length=2000)


class DeleteKnowledgebaseRequest(ApiRequest):
    knowledgebase_id: str = KnowledgebaseId


class KnowledgeFileIn(ApiRequest):
    """A file by value (`content` a `data:` URL, base64) or by reference (an http(s) URL the
    worker fetches)."""

    name: StorableText = Field(min_length=1, max_length=300)
    type: FileType = "document"
    content: StorableText = Field(min_length=1)


class AddKnowledgebaseFileRequest(ApiRequest):
    knowledgebase_id: str = KnowledgebaseId
    file: list[KnowledgeFileIn] = Field(min_length=1)


class GetKnowledgebaseFileRequest(ApiRequest):
    file_ids: list[str] | None = Field(None, min_length=1, max_length=100)
    knowledgebase_id: str | None = Field(None, min_length=1, max_length=36)
    type: FileType | None = None
    page: int = Field(1, ge=1, le=MAX_COUNT)
    page_size: int = Field(10, ge=1, le=100)

    @model_validator(mode="after")
    def _one_way(self) -> "GetKnowledgebaseFileRequest":
        if (self.file_ids is None) == (self.knowledgebase_id is None):
            raise ValueError("exactly one of file_ids and knowledgebase_id is required")
        return self


class DeleteKnowledgebaseFileRequest(ApiRequest):
    file_ids: list[str] = Field(min_length=1, max_length=100)
