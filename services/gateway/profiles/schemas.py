"""Requests of the profile endpoints: binding templates to users or agents, editing and
deleting a bound profile."""

from typing import Annotated, Any

from pydantic import AfterValidator, Field, model_validator

from services.gateway.messages.schemas import StorableText
from shared.schemas import ApiRequest

MAX_VALUE_CHARS = 2000


def _value(value: Any) -> Any:
    texts = value if isinstance(value, list) else [value]
    if any(isinstance(t, str) and len(t) > MAX_VALUE_CHARS for t in texts):
        raise ValueError(f"values are at most {MAX_VALUE_CHARS} characters")
    return value


ProfileValue = Annotated[
    StorableText | int | float | bool | list[StorableText], AfterValidator(_value)
]


class Subject(ApiRequest):
    """A profile's subject: a user or an agent, exactly one."""

    user_id: StorableText | None = Field(None, min_length=1, max_length=100)
    agent_id: StorableText | None = Field(None, min_length=1, max_length=100)
    profile_template_id: StorableText = Field(min_length=1, max_length=100)

    @model_validator(mode="after")
    def _one_subject(self) -> "Subject":
        if (self.user_id is None) == (self.agent_id is None):
            raise ValueError("exactly one of user_id and agent_id is required")
        return self

    @property
    def kind(self) -> str:
        return "user" if self.user_id is not None else "agent"

    @property
    def subject_id(self) -> str:
        return self.user_id if self.user_id is not None else str(self.agent_id)


class BindProfileTemplateRequest(ApiRequest):
    bind_list: list[Subject] = Field(min_length=1, max_length=100)


class EditProfileRequest(Subject):
    metadata: dict[StorableText, ProfileValue] | None = None
    remove_fields: list[StorableText] | None = None

    @model_validator(mode="after")
    def _something_to_change(self) -> "EditProfileRequest":
        if not self.metadata and not self.remove_fields:
            raise ValueError("metadata or remove_fields is required")
        return self


class DeleteProfileRequest(Subject):
    pass
