"""Templates, coupon templates and tags: checked on save, listed back."""

from __future__ import annotations

import httpx
import pytest


async def test_a_template_that_renders_is_saved_and_listed(api: httpx.AsyncClient) -> None:
    template = {
        "channel": "email",
        "subject": "Hi {{ member.first_name }}",
        "body": "Your coupon {{ coupon.code }} is worth {{ coupon.value }} yuan.",
    }
    saved = await api.put("/api/templates/hello_email", json=template)
    assert saved.status_code == 200
    assert saved.json() == {
        "id": "hello_email",
        "provider_template": None,
        "params": {},
        "warnings": [],
        **template,
    }
    changed = await api.put("/api/templates/hello_email", json={**template, "channel": "sms"})
    assert changed.json()["channel"] == "sms"
    listed = {t["id"]: t for t in (await api.get("/api/templates")).json()}
    assert listed["hello_email"]["channel"] == "sms"
    assert "welcome_coupon_sms" in listed


@pytest.mark.parametrize(
    ("part", "source", "code", "says"),
    [
        ("body", "Hi {{ member.frist_name }}", "unknown_variable", "frist_name"),
        ("body", "{{ ''.__class__.__mro__ }}", "unsafe", "__class__"),
        ("body", "{{ member.first_name ", "syntax", "line 1"),
        ("subject", "{{ nope }}", "unknown_variable", "subject: 'nope' is undefined"),
    ],
)
async def test_a_template_that_does_not_render_is_refused(
    api: httpx.AsyncClient, part: str, source: str, code: str, says: str
) -> None:
    template = {"channel": "email", "subject": "Hello", "body": "Hello", part: source}
    response = await api.put("/api/templates/broken", json=template)
    assert response.status_code == 422
    detail = response.json()["detail"]
    assert detail["message"].startswith("template broken cannot be sent")
    ((issue_code, message),) = [(i["code"], i["message"]) for i in detail["issues"]]
    assert issue_code == code
    assert says in message
    assert "broken" not in {t["id"] for t in (await api.get("/api/templates")).json()}


async def test_a_long_sms_is_saved_with_a_warning(api: httpx.AsyncClient) -> None:
    response = await api.put("/api/templates/long_sms", json={"channel": "sms", "body": "长" * 80})
    assert response.status_code == 200
    assert [w["code"] for w in response.json()["warnings"]] == ["sms_multi_segment"]


async def test_template_fields_are_checked(api: httpx.AsyncClient) -> None:
    fax = await api.put("/api/templates/t1", json={"channel": "fax", "body": "x"})
    assert fax.status_code == 422
    bad_id = await api.put("/api/templates/has space", json={"channel": "sms", "body": "x"})
    assert bad_id.status_code == 422
    assert "no spaces" in bad_id.json()["detail"][0]["msg"]


async def test_coupon_templates(api: httpx.AsyncClient) -> None:
    coupon = {"name": "10 off 100", "threshold": 100, "value": 10, "validity_days": 7, "stock": 5}
    saved = await api.put("/api/coupon-templates/ten_off", json=coupon)
    assert saved.status_code == 200
    assert saved.json() == {"id": "ten_off", "issued": 0, **coupon}
    unlimited = await api.put("/api/coupon-templates/ten_off", json={**coupon, "stock": None})
    assert unlimited.json()["stock"] is None
    for bad in ({"validity_days": 0}, {"stock": -1}, {"value": 0}):
        response = await api.put("/api/coupon-templates/ten_off", json={**coupon, **bad})
        assert response.status_code == 422, bad
    listed = {c["id"]: c for c in (await api.get("/api/coupon-templates")).json()}
    assert listed["ten_off"]["stock"] is None


async def test_tags(api: httpx.AsyncClient) -> None:
    saved = await api.put("/api/tags/vip", json={"kind": "static", "description": "VIP"})
    assert saved.json() == {"name": "vip", "kind": "static", "description": "VIP"}
    assert (await api.put("/api/tags/vip", json={"kind": "mood"})).status_code == 422
    names = [t["name"] for t in (await api.get("/api/tags")).json()]
    assert "vip" in names and names == sorted(names)


async def test_wechat_keywords_are_checked_like_the_body(api: httpx.AsyncClient) -> None:
    template = {
        "channel": "wechat",
        "body": "{{ member.first_name }}，您的优惠券即将到期",
        "provider_template": "TPL-EXPIRY",
        "params": {
            "kw.thing1": "{{ coupon.name }}",
            "kw.thing2": "{{ member.first_name }}的专属新人礼包，满一百元即可使用，限时三天有效",
        },
    }
    saved = await api.put("/api/templates/expiry_wechat", json=template)
    assert saved.status_code == 200
    assert saved.json()["params"] == template["params"]
    assert [w["code"] for w in saved.json()["warnings"]] == ["wechat_keyword_too_long"]
    assert "kw.thing2" in saved.json()["warnings"][0]["message"]

    broken = {**template, "params": {"kw.thing1": "{{ coupon.nmae }}"}}
    refused = await api.put("/api/templates/expiry_wechat", json=broken)
    assert refused.status_code == 422
    assert "kw.thing1" in refused.text
