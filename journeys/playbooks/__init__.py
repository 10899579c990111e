"""The seeds' lifecycle playbooks, shipped as journey JSON so marketers start from
journeys that already validate, and the catalog of templates, coupons and tags they use.

Kept as data rather than code so the editor can open, change and save them like any
other journey; the demo loader creates exactly what :func:`catalog_needed` lists.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from journeys.model import Journey
from journeys.validate import Catalog, node_needs

__all__ = [
    "PLAYBOOK_DIR",
    "all_playbooks",
    "catalog_needed",
    "load_catalog",
    "load_playbook",
    "seed_catalog",
]

PLAYBOOK_DIR = Path(__file__).parent
_CATALOG_FILE = PLAYBOOK_DIR / "catalog.json"
_PLAYBOOK_NAME = re.compile(r"[a-z0-9_]+")


def load_playbook(name: str) -> Journey:
    """The playbook whose journey id is ``name``; the name is checked because it may
    come from a request and must not reach outside the playbook folder."""
    path = PLAYBOOK_DIR / f"{name}.json"
    if not _PLAYBOOK_NAME.fullmatch(name) or path == _CATALOG_FILE or not path.is_file():
        raise KeyError(name)
    return Journey.model_validate_json(path.read_text(encoding="utf-8"))


def all_playbooks() -> dict[str, Journey]:
    return {
        path.stem: load_playbook(path.stem)
        for path in sorted(PLAYBOOK_DIR.glob("*.json"))
        if path != _CATALOG_FILE
    }


def catalog_needed(journeys: Iterable[Journey]) -> Catalog:
    """Every template (by channel), coupon template and tag the journeys refer to."""
    needs = [node_needs(node) for journey in journeys for node in journey.nodes]
    by_channel: dict[str, set[str]] = {}
    for need in needs:
        for channel, templates in (need.templates_by_channel or {}).items():
            by_channel.setdefault(channel, set()).update(templates)
    return Catalog(
        templates=frozenset().union(*(n.templates for n in needs)),
        coupons=frozenset().union(*(n.coupons for n in needs)),
        tags=frozenset().union(*(n.tags for n in needs)),
        templates_by_channel={c: frozenset(ids) for c, ids in by_channel.items()},
    )


def load_catalog() -> dict[str, Any]:
    """Message templates, coupon templates and tags with their texts and settings."""
    data: dict[str, Any] = json.loads(_CATALOG_FILE.read_text(encoding="utf-8"))
    return data


def seed_catalog() -> Catalog:
    """What exists once catalog.json is loaded, to validate journeys against it."""
    data = load_catalog()
    by_channel: dict[str, set[str]] = {}
    for template in data["message_templates"]:
        by_channel.setdefault(template["channel"], set()).add(template["id"])
    return Catalog(
        templates=frozenset(t["id"] for t in data["message_templates"]),
        coupons=frozenset(c["id"] for c in data["coupon_templates"]),
        tags=frozenset(t["name"] for t in data["tags"]),
        templates_by_channel={c: frozenset(ids) for c, ids in by_channel.items()},
    )
