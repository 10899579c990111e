"""Publishing a new version while members are in flight: each keeps the version it entered."""

from __future__ import annotations

from tests.support import Harness
from tests.workflows.helpers import exit_, journey, messages, rows, send, trigger, wait


def _version(template: str) -> dict[str, object]:
    return journey("edited", [trigger(), wait("w", days=1), send("s", template), exit_()])


async def test_members_in_flight_finish_the_version_they_entered(harness: Harness) -> None:
    assert harness.publish(_version("followup_sms")) == 1
    first = harness.member("m-0001")
    await harness.event("m-0001", "registered")
    assert harness.publish(_version("unpaid_reminder_sms")) == 2
    second = harness.member("m-0002")
    await harness.event("m-0002", "registered")

    assert await harness.result("edited", first) == "completed"
    assert await harness.result("edited", second) == "completed"

    sent = {m.member_id: m.template_id for m in messages(harness)}
    assert sent == {first: "followup_sms", second: "unpaid_reminder_sms"}
    by_recipient = {m["recipient"]: m["data"]["template_id"] for m in harness.delivered()}
    assert by_recipient == {"13800000001": "followup_sms", "13800000002": "unpaid_reminder_sms"}
    versions = {r.member_id: r.version for r in harness.runs("edited")}
    assert versions == {first: 1, second: 2}
    logged = rows(harness, "edited")
    assert {r.version for r in logged if r.member_id == first} == {1}
    assert {r.version for r in logged if r.member_id == second} == {2}
    assert len([r for r in logged if r.kind == "entered"]) == 8
