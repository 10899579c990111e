"""What journeys refer to: message templates, coupon templates and tags.

Templates are rendered with sample member data when saved, so a misspelt variable or
a sandbox escape is refused now rather than failing when a member is due a message.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal, TypeVar

from fastapi import APIRouter, HTTPException, Path, status
from pydantic import AfterValidator, BaseModel, ConfigDict, Field
from sqlmodel import Session, col, select

from engine.delivery.templating import TemplateIssue, check_template
from engine.store.catalog import load_catalog_rows
from engine.store.models import CouponTemplate, MessageTemplate, Tag
from journeys.model import is_valid_name
from web.deps import ServicesDep, SessionDep

__all__ = ["router"]

router = APIRouter(tags=["catalog"])

_Row = TypeVar("_Row", MessageTemplate, CouponTemplate, Tag)


def _valid_name(name: str) -> str:
    if not is_valid_name(name):
        raise ValueError("must be 1-64 letters, digits, _ . : - with no spaces")
    return name


Name = Annotated[str, Path(), AfterValidator(_valid_name)]


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid")


class _Out(BaseModel):
    model_config = ConfigDict(from_attributes=True)


class TemplateIn(_In):
    channel: Literal["sms", "email", "wechat"]
    subject: str | None = None
    body: str = Field(min_length=1)
    provider_template: str | None = Field(
        default=None, description="Provider-side template id (SMS template code, WeChat id)."
    )
    params: dict[str, str] = Field(
        default_factory=dict,
        description="Provider template parameters, each a Jinja2 text: WeChat 'kw.thing1',"
        " Aliyun variable names, Tencent '1', '2', ...",
    )


class IssueOut(BaseModel):
    code: str
    message: str


class TemplateOut(_Out):
    id: str
    channel: str
    subject: str | None
    body: str
    provider_template: str | None
    params: dict[str, str] = {}
    warnings: list[IssueOut] = []
    """Only when saving: what sends but costs more or reads badly."""


class CouponTemplateIn(_In):
    name: str = Field(min_length=1)
    threshold: float = Field(default=0, ge=0, description="Minimum order amount; 0 for none.")
    value: float = Field(gt=0)
    validity_days: int = Field(default=7, gt=0)
    stock: int | None = Field(default=None, ge=0, description="None means unlimited.")


class CouponTemplateOut(_Out, CouponTemplateIn):
    id: str
    issued: int


class TagIn(_In):
    kind: Literal["static", "behavioural", "insight", "model", "predictive"] = "behavioural"
    description: str = ""


class TagOut(_Out):
    name: str
    kind: str
    description: str


@router.put("/templates/{template_id}", responses={422: {"description": "It cannot be sent."}})
def put_template(
    session: SessionDep, services: ServicesDep, template_id: Name, body: TemplateIn
) -> TemplateOut:
    """Errors (syntax, unknown variable, sandbox escape) refuse the template; warnings
    (several SMS segments, long WeChat content) are returned with the saved template."""
    issues = check_template(
        body.channel,
        body.subject,
        body.body,
        opt_out_line=services.settings.sms_opt_out_line if body.channel == "sms" else "",
        params=body.params,
    )
    errors = [i for i in issues if i.severity == "error"]
    if errors:
        raise HTTPException(
            status.HTTP_422_UNPROCESSABLE_CONTENT,
            {
                "message": f"template {template_id} cannot be sent: "
                + "; ".join(f"{i.code}: {i.message}" for i in errors),
                "issues": [_issue(i).model_dump() for i in errors],
            },
        )
    row = _save(session, MessageTemplate, template_id, "message_templates", body)
    return TemplateOut.model_validate({**row.model_dump(), "warnings": [_issue(i) for i in issues]})


@router.get("/templates")
def list_templates(session: SessionDep) -> list[TemplateOut]:
    return [
        TemplateOut.model_validate(r)
        for r in session.exec(select(MessageTemplate).order_by(col(MessageTemplate.id)))
    ]


@router.put("/coupon-templates/{coupon_id}")
def put_coupon_template(
    session: SessionDep, coupon_id: Name, body: CouponTemplateIn
) -> CouponTemplateOut:
    return CouponTemplateOut.model_validate(
        _save(session, CouponTemplate, coupon_id, "coupon_templates", body)
    )


@router.get("/coupon-templates")
def list_coupon_templates(session: SessionDep) -> list[CouponTemplateOut]:
    return [
        CouponTemplateOut.model_validate(r)
        for r in session.exec(select(CouponTemplate).order_by(col(CouponTemplate.id)))
    ]


@router.put("/tags/{name}")
def put_tag(session: SessionDep, name: Name, body: TagIn) -> TagOut:
    return TagOut.model_validate(_save(session, Tag, name, "tags", body, key="name"))


@router.get("/tags")
def list_tags(session: SessionDep) -> list[TagOut]:
    return [TagOut.model_validate(r) for r in session.exec(select(Tag).order_by(col(Tag.name)))]


def _save(
    session: Session,
    table: type[_Row],
    row_id: str,
    section: str,
    body: BaseModel,
    key: str = "id",
) -> _Row:
    """The same upsert the demo loader uses, so the API and the loader cannot drift."""
    item: dict[str, Any] = {key: row_id, **body.model_dump()}
    load_catalog_rows(session, {section: [item]})
    session.commit()
    row = session.get(table, row_id)
    assert row is not None
    return row


def _issue(issue: TemplateIssue) -> IssueOut:
    return IssueOut(code=issue.code, message=issue.message)
