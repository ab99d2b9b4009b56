from fastapi import APIRouter

from services.gateway.deps import CurrentGateway, CurrentProject
from services.gateway.profiles import service
from services.gateway.profiles.schemas import (
    BindProfileTemplateRequest,
    DeleteProfileRequest,
    EditProfileRequest,
)
from shared.http import JSONBytes, ok

router = APIRouter()


@router.post("/bind/profile_template")
def bind_profile_template(
    body: BindProfileTemplateRequest, project: CurrentProject, gateway: CurrentGateway
) -> JSONBytes:
    """Binds profile templates (`default`, or the project's own) to users or agents; a user's
    profile is then filled from their memories as they are extracted."""
    return ok(service.bind(gateway.runtime.db, project.project_id, body))


@router.post("/edit/profile")
def edit_profile(
    body: EditProfileRequest, project: CurrentProject, gateway: CurrentGateway
) -> JSONBytes:
    """Sets fields of a bound profile (`metadata`) or removes them (`remove_fields`)."""
    return ok(service.edit(gateway.runtime.db, project.project_id, body))


@router.post("/delete/profile")
def delete_profile(
    body: DeleteProfileRequest, project: CurrentProject, gateway: CurrentGateway
) -> JSONBytes:
    """Deletes a subject's profile of one template (its values and its binding)."""
    return ok(service.delete(gateway.runtime.db, project.project_id, body))
