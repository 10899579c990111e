"""Demo data: the playbook catalog, every seed playbook published, and a small cast of
members in different lifecycle stages, so a fresh `make run` has something to show.

Deterministic ids throughout, so loading twice changes nothing and re-sent demo
events are recognised as duplicates.
"""

from __future__ import annotations

from sqlalchemy.engine import Engine

from engine.publishing import publish, save_draft
from engine.runtime.ingest import IncomingEvent, MemberIn, store_event
from engine.store.catalog import load_catalog_rows
from engine.store.db import session_scope
from engine.store.models import JourneyRecord
from journeys.playbooks import all_playbooks, load_catalog

__all__ = ["demo_events", "load_demo"]

_STAGES = ["potential", "new", "growth", "mature", "dormant", "churned"]
_RFM = ["important_value", "important_develop", "general_maintain", "general_retain"]
_NAMES = ["小明", "小红", "阿强", "丽丽", "建国", "芳芳", "Lei", "Mei"]


def _member(i: int) -> IncomingEvent:
    external_id = f"demo-{i:03d}"
    return IncomingEvent(
        event_id=f"demo:{external_id}:registered",
        member=external_id,
        name="registered",
        profile=MemberIn(
            phone=f"1380013{i:04d}",
            email=f"{external_id}@example.com",
            wechat_openid=f"o-demo-{i:03d}",
            first_name=_NAMES[i % len(_NAMES)],
            timezone="Asia/Shanghai" if i % 5 else "America/Los_Angeles",
            attributes={
                "lifecycle_stage": _STAGES[i % len(_STAGES)],
                "rfm_segment": _RFM[i % len(_RFM)],
                "birthday": f"199{i % 10}-{(i % 12) + 1:02d}-{(i % 27) + 1:02d}",
            },
        ),
    )


def load_demo(engine: Engine) -> list[str]:
    """Loads the catalog and publishes the playbooks not yet in the store (journeys that
    exist are left as the marketer has them); returns the ids it published."""
    with session_scope(engine) as session:
        load_catalog_rows(session, load_catalog())
    published = []
    for journey in all_playbooks().values():
        with session_scope(engine) as session:
            if session.get(JourneyRecord, journey.id) is not None:
                continue
            save_draft(session, journey)
        with session_scope(engine) as session:
            publish(session, journey.id)
        published.append(journey.id)
    return published


def demo_events(engine: Engine, members: int = 40) -> list[int]:
    """Stores the demo members' registrations (and some first orders); returns the ids
    of events not yet routed, for the caller to hand to the RunDispatcher."""
    pending = []
    with session_scope(engine) as session:
        for i in range(1, members + 1):
            incoming = [_member(i)]
            if i % 4 == 0:
                incoming.append(
                    IncomingEvent(
                        event_id=f"demo:demo-{i:03d}:order_paid",
                        member=f"demo-{i:03d}",
                        name="order_paid",
                        properties={"amount": 99 + i},
                    )
                )
            for event in incoming:
                row, _ = store_event(session, event)
                if row.routed_at is None and row.id is not None:
                    pending.append(row.id)
    return pending
