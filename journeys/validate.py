"""Finds everything that would make a journey misbehave once members are in it.

Runs on save and on publish, so a marketer sees every problem at once, each tied
to the node to fix, instead of members getting stuck or looping at run time.
Pure: the caller supplies what exists in the store as a :class:`Catalog`.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime
from urllib.parse import urlsplit

import networkx as nx
from pydantic import ValidationError

from journeys.model import (
    BLOCKING_KINDS,
    AddTag,
    AwardPoints,
    Condition,
    Duration,
    Journey,
    Node,
    Predicate,
    RandomSplit,
    RemoveTag,
    SendCoupon,
    SendMessage,
    TriggerDate,
    TriggerEvent,
    TriggerSchedule,
    TriggerSegment,
    TriggerTagAdded,
    UpdateAttribute,
    Wait,
    WaitForEvent,
    WaitUntilDate,
    WaitUntilTime,
    Webhook,
    is_valid_name,
)

__all__ = [
    "CODES",
    "Catalog",
    "Problem",
    "node_needs",
    "to_networkx",
    "validate",
    "validate_json",
]

CODES: dict[str, str] = {
    "invalid_field": "The JSON does not fit the journey schema (wrong type, unknown kind, ...).",
    "duplicate_node_id": "Two nodes share an id, so edges and analytics cannot tell them apart.",
    "unknown_edge_node": "An edge starts or ends at a node that does not exist.",
    "unknown_port": "An edge leaves from a port this kind of node does not have.",
    "port_multiple_edges": "One port has several outgoing edges; a member can only take one.",
    "duplicate_port_name": "Two branches, variants or events of one node share a port name.",
    "empty_port_name": "A branch or variant has no name, so no edge can leave from it.",
    "no_trigger": "The journey has no trigger, so no member can ever enter it.",
    "multiple_triggers": "The journey has more than one trigger; it must have exactly one.",
    "trigger_has_incoming": "An edge leads into the trigger; triggers only start journeys.",
    "unreachable_node": "No path leads from the trigger to this node.",
    "port_unconnected": "A port leads nowhere, so members taking it would be stranded.",
    "cycle_without_wait": "A loop has no wait on it, so a member would loop forever at once.",
    "split_too_few_variants": "A random split needs at least two variants.",
    "split_percent_not_positive": "A random split variant has a share of zero or less.",
    "split_percent_sum": "The shares of a random split do not add up to 100.",
    "condition_no_branches": "A condition has no branch besides else, so it decides nothing.",
    "branch_no_predicates": "A condition branch has no predicate to test.",
    "predicate_missing_key": "The predicate's subject needs a key (attribute, coupon or event).",
    "predicate_missing_value": "The predicate's operator needs a value to compare with.",
    "predicate_value_not_list": "Operators in / not_in need a list value.",
    "missing_config": "A setting this kind of node needs is empty.",
    "invalid_schedule": "A schedule trigger needs exactly one of a valid 'at' or 'cron'.",
    "invalid_url": "A webhook URL is not an http or https URL.",
    "zero_points": "Awarding zero points does nothing.",
    "invalid_time_of_day": "A time of day is not HH:MM (24-hour).",
    "invalid_weekday": "A weekday is not an ISO weekday number 1 (Monday) to 7 (Sunday).",
    "duration_not_positive": "A wait, timeout or goal window is zero long.",
    "negative_duration": "A duration has a negative part.",
    "invalid_name": "An event or tag name is empty, too long or has unsafe characters.",
    "unknown_template": "The message template does not exist.",
    "template_wrong_channel": "The message template exists, but not for this node's channel.",
    "unknown_coupon": "The coupon template does not exist.",
    "unknown_tag": "The tag does not exist.",
    "goal_event_missing": "A goal is set without the event that counts as reaching it.",
}

_KEYED_SUBJECTS = frozenset({"attribute", "coupon_held", "coupon_redeemed", "event_count"})
_PRESENCE_OPS = frozenset({"has", "not_has"})
_LIST_OPS = frozenset({"in", "not_in"})
_NO_NAMES: frozenset[str] = frozenset()
_HH_MM = re.compile(r"([01]\d|2[0-3]):[0-5]\d")


@dataclass(frozen=True)
class Problem:
    """One thing to fix; ``node_id`` is None when it concerns the whole journey."""

    node_id: str | None
    code: str
    message: str


@dataclass(frozen=True)
class Catalog:
    """Names that exist in the store, so references can be checked without I/O.

    ``templates_by_channel`` is optional because a template sent on the wrong
    channel only matters where the store knows each template's channel.
    """

    templates: frozenset[str]
    coupons: frozenset[str]
    tags: frozenset[str]
    templates_by_channel: Mapping[str, frozenset[str]] | None = None


def to_networkx(journey: Journey) -> nx.MultiDiGraph[str]:
    """The journey as a graph for reachability and cycle checks.

    The first node with a given id wins and edges to missing nodes are left out:
    :func:`validate` reports both, and the graph stays one where every node has
    its model.
    """
    graph: nx.MultiDiGraph[str] = nx.MultiDiGraph()
    for node in journey.nodes:
        if node.id not in graph:
            graph.add_node(node.id, node=node)
    for edge in journey.edges:
        if edge.source in graph and edge.target in graph:
            graph.add_edge(edge.source, edge.target, port=edge.port)
    return graph


def validate(journey: Journey, catalog: Catalog | None = None) -> list[Problem]:
    """Every problem in the journey, in a stable order; empty means it can be published."""
    graph = to_networkx(journey)
    problems = [
        *_structure(journey),
        *_entry(journey, graph),
        *_cycles(graph),
        *_settings(journey),
    ]
    for node in _first_of_each(journey):
        problems.extend(_config(node))
        if catalog is not None:
            problems.extend(_references(node, catalog))
    return problems


def validate_json(
    data: object, catalog: Catalog | None = None
) -> tuple[Journey | None, list[Problem]]:
    """Parses and validates raw JSON, so the API returns one problem list for both steps."""
    try:
        journey = Journey.model_validate(data)
    except ValidationError as exc:
        return None, [_field_problem(data, error["loc"], error["msg"]) for error in exc.errors()]
    return journey, validate(journey, catalog)


def node_needs(node: Node) -> Catalog:
    """The templates, coupons and tags a node refers to, as the catalog it needs."""
    templates: dict[str, frozenset[str]] = {}
    coupons: set[str] = set()
    tags: set[str] = set()
    if isinstance(node, SendMessage) and node.template:
        templates[node.channel] = frozenset({node.template})
    elif isinstance(node, SendCoupon) and node.coupon:
        coupons.add(node.coupon)
    elif isinstance(node, AddTag | RemoveTag | TriggerTagAdded) and node.tag:
        tags.add(node.tag)
    for predicate in _predicates(node):
        if predicate.subject == "tag":
            tags.update(n for n in _listed(predicate.value) if isinstance(n, str))
        elif predicate.subject in ("coupon_held", "coupon_redeemed") and predicate.key:
            coupons.add(predicate.key)
    return Catalog(
        templates=frozenset().union(*templates.values()),
        coupons=frozenset(coupons),
        tags=frozenset(tags),
        templates_by_channel=templates,
    )


# ---------------------------------------------------------------- graph shape


def _first_of_each(journey: Journey) -> list[Node]:
    first: dict[str, Node] = {}
    for node in journey.nodes:
        first.setdefault(node.id, node)
    return list(first.values())


def _structure(journey: Journey) -> Iterator[Problem]:
    counts = Counter(n.id for n in journey.nodes)
    for node_id, count in counts.items():
        if count > 1:
            yield Problem(
                node_id,
                "duplicate_node_id",
                f"{count} nodes have the id '{node_id}'; give each node its own id.",
            )
    nodes = {n.id: n for n in _first_of_each(journey)}
    for node in nodes.values():
        yield from _port_names(node)
    edges_from: dict[tuple[str, str], list[str]] = {}
    for edge in journey.edges:
        arrow = f"edge {edge.source}.{edge.port} -> {edge.target}"
        for end, other in ((edge.source, edge.target), (edge.target, edge.source)):
            if end not in nodes:
                yield Problem(
                    other if other in nodes else None,
                    "unknown_edge_node",
                    f"The {arrow} refers to node '{end}', which does not exist; "
                    "delete the edge or add the node.",
                )
        if edge.source not in nodes:
            continue
        ports = nodes[edge.source].ports()
        if edge.port not in ports:
            yield Problem(
                edge.source,
                "unknown_port",
                f"{_title(nodes[edge.source])} has no port '{edge.port}' (its ports: "
                f"{', '.join(ports) or 'none'}); connect the edge to one of those.",
            )
        else:
            edges_from.setdefault((edge.source, edge.port), []).append(edge.target)
    for node in nodes.values():
        for port in dict.fromkeys(node.ports()):
            targets = edges_from.get((node.id, port), [])
            if not targets:
                yield Problem(
                    node.id,
                    "port_unconnected",
                    f"Port '{port}' of {_name(node)} leads nowhere; "
                    "connect it to the next step or to an exit.",
                )
            elif len(targets) > 1:
                yield Problem(
                    node.id,
                    "port_multiple_edges",
                    f"Port '{port}' of {_name(node)} has {len(targets)} edges "
                    f"(to {', '.join(targets)}); keep one, or add a random split.",
                )


def _port_names(node: Node) -> Iterator[Problem]:
    ports = node.ports()
    if isinstance(node, Condition | RandomSplit) and "" in ports:
        yield Problem(
            node.id, "empty_port_name", f"A path of {_name(node)} has no name; name every path."
        )
    for port, count in Counter(ports).items():
        if count > 1:
            yield Problem(
                node.id,
                "duplicate_port_name",
                f"{_title(node)} has {count} exits named '{port}' ('else' and 'timeout' "
                "are built in); rename them so each exit is distinct.",
            )


def _entry(journey: Journey, graph: nx.MultiDiGraph[str]) -> Iterator[Problem]:
    triggers = list(dict.fromkeys(n.id for n in journey.triggers()))
    if not triggers:
        yield Problem(
            None, "no_trigger", "The journey has no trigger; add one so members can enter."
        )
        return
    if len(triggers) > 1:
        yield Problem(
            triggers[1],
            "multiple_triggers",
            f"The journey has {len(triggers)} triggers ({', '.join(triggers)}); "
            "keep exactly one, or make a journey per trigger.",
        )
    for trigger in triggers:
        sources = sorted({s for s, _ in graph.in_edges(trigger)})
        if sources:
            yield Problem(
                trigger,
                "trigger_has_incoming",
                f"Trigger '{trigger}' has incoming edges from {', '.join(sources)}; "
                "a trigger only starts the journey, so point those edges elsewhere.",
            )
    reachable = set(triggers).union(*(nx.descendants(graph, t) for t in triggers))
    for node_id in graph:
        if node_id not in reachable:
            yield Problem(
                node_id,
                "unreachable_node",
                f"No path leads from the trigger to '{node_id}'; connect it or delete it.",
            )


def _cycles(graph: nx.MultiDiGraph[str]) -> Iterator[Problem]:
    """Any cycle left once the blocking nodes are removed is a loop with no timer."""
    fast = graph.subgraph(n for n in graph if graph.nodes[n]["node"].kind not in BLOCKING_KINDS)
    order = {node_id: i for i, node_id in enumerate(graph)}
    for component in nx.strongly_connected_components(fast):
        loop = sorted(component, key=order.__getitem__)
        if len(loop) > 1 or fast.has_edge(loop[0], loop[0]):
            where = f"Nodes {', '.join(loop)} form" if len(loop) > 1 else f"Node {loop[0]} is"
            yield Problem(
                loop[0],
                "cycle_without_wait",
                f"{where} a loop with no wait on it, so a member would go round it "
                "forever at once; add a wait to the loop.",
            )


def _settings(journey: Journey) -> Iterator[Problem]:
    settings = journey.settings
    if settings.goal is not None:
        if not settings.goal.event:
            yield Problem(
                None,
                "goal_event_missing",
                "The goal has no event; set the event that counts as converting "
                "(e.g. order_paid) or remove the goal.",
            )
        else:
            yield from _names(None, "goal event", [settings.goal.event])
        yield from _duration(None, "goal window", settings.goal.window, positive=True)
    yield from _duration(None, "re-entry minimum gap", settings.reentry.min_gap, positive=False)


# ---------------------------------------------------------------- node config


def _config(node: Node) -> Iterator[Problem]:
    match node:
        case TriggerEvent():
            yield from _named(node, "event", node.event)
        case TriggerSegment():
            yield from _required(node, "segment", node.segment)
        case TriggerTagAdded() | AddTag() | RemoveTag():
            yield from _named(node, "tag", node.tag)
        case TriggerDate() | WaitUntilDate():
            yield from _required(node, "attribute", node.attribute)
            yield from _time_of_day(node, node.time_of_day)
        case TriggerSchedule():
            yield from _required(node, "segment", node.segment)
            yield from _schedule(node)
        case Wait():
            yield from _duration(node.id, "wait duration", node.duration, positive=True)
        case WaitUntilTime():
            yield from _weekdays(node)
        case WaitForEvent():
            yield from _required(node, "events", node.events)
            yield from _names(node.id, "event", node.events)
            yield from _duration(node.id, "timeout", node.timeout, positive=True)
        case Condition():
            yield from _condition(node)
        case RandomSplit():
            yield from _split(node)
        case SendMessage():
            yield from _required(node, "template", node.template)
        case SendCoupon():
            yield from _required(node, "coupon", node.coupon)
        case UpdateAttribute():
            yield from _required(node, "attribute", node.attribute)
        case Webhook():
            yield from _webhook(node)
        case AwardPoints() if node.points == 0:
            yield Problem(
                node.id,
                "zero_points",
                f"{_title(node)} awards 0 points; set a positive amount (or negative to deduct).",
            )
    for predicate in _predicates(node):
        yield from _predicate(node, predicate)


def _required(node: Node, field: str, value: str | list[str]) -> Iterator[Problem]:
    if not (value.strip() if isinstance(value, str) else value):
        yield Problem(
            node.id, "missing_config", f"{_title(node)} has no {field}; set the {field} to use."
        )


def _named(node: Node, what: str, name: str) -> Iterator[Problem]:
    """A required event or tag name: reported as missing when blank, else as malformed."""
    if name.strip():
        yield from _names(node.id, what, [name])
    else:
        yield from _required(node, what, name)


def _names(node_id: str | None, what: str, names: Iterable[object]) -> Iterator[Problem]:
    for name in names:
        if not isinstance(name, str) or not is_valid_name(name):
            yield Problem(
                node_id,
                "invalid_name",
                f"The {what} name {name!r} is not well-formed; use up to 64 letters, digits, "
                "'_', '.', ':' or '-', starting with a letter, digit or '_'.",
            )


def _duration(
    node_id: str | None, what: str, duration: Duration, *, positive: bool
) -> Iterator[Problem]:
    parts = duration.model_dump()
    negative = [f"{unit}={n}" for unit, n in parts.items() if n < 0]
    if negative:
        yield Problem(
            node_id,
            "negative_duration",
            f"The {what} has negative parts ({', '.join(negative)}); use zero or more.",
        )
    elif positive and duration.total_seconds() <= 0:
        yield Problem(
            node_id,
            "duration_not_positive",
            f"The {what} is zero; set days, hours or minutes above zero.",
        )


def _time_of_day(node: Node, value: str) -> Iterator[Problem]:
    if not _HH_MM.fullmatch(value):
        yield Problem(
            node.id,
            "invalid_time_of_day",
            f"{_title(node)} has time of day {value!r}; write it as HH:MM, e.g. 10:00.",
        )


def _weekdays(node: WaitUntilTime) -> Iterator[Problem]:
    wrong = [day for day in node.weekdays if not 1 <= day <= 7]
    if wrong:
        yield Problem(
            node.id,
            "invalid_weekday",
            f"{_title(node)} has weekdays {wrong}; use 1 (Monday) to 7 (Sunday).",
        )


def _schedule(node: TriggerSchedule) -> Iterator[Problem]:
    if (node.at is None) == (node.cron is None):
        reason = "sets neither 'at' nor 'cron'" if node.at is None else "sets both 'at' and 'cron'"
    elif node.at is not None and not _is_iso_datetime(node.at):
        reason = f"has 'at' {node.at!r}, which is not an ISO date-time"
    elif node.cron is not None and len(node.cron.split()) != 5:
        reason = f"has 'cron' {node.cron!r}, which does not have 5 fields"
    else:
        return
    yield Problem(
        node.id,
        "invalid_schedule",
        f"{_title(node)} {reason}; set 'at' (e.g. 2025-06-18T10:00) for one send "
        "or 'cron' (e.g. '0 10 * * 1') to repeat, not both.",
    )


def _is_iso_datetime(value: str) -> bool:
    try:
        datetime.fromisoformat(value)
    except ValueError:
        return False
    return True


def _webhook(node: Webhook) -> Iterator[Problem]:
    yield from _required(node, "url", node.url)
    url = urlsplit(node.url)
    if node.url and (url.scheme not in ("http", "https") or not url.hostname):
        yield Problem(
            node.id,
            "invalid_url",
            f"{_title(node)} has URL {node.url!r}; use a full http:// or https:// URL.",
        )


def _condition(node: Condition) -> Iterator[Problem]:
    if not node.branches:
        yield Problem(
            node.id,
            "condition_no_branches",
            f"{_title(node)} has only the else path; add a branch with a predicate.",
        )
    for branch in node.branches:
        if not branch.predicates:
            yield Problem(
                node.id,
                "branch_no_predicates",
                f"Branch '{branch.name}' of {_name(node)} tests nothing; add a predicate.",
            )


def _split(node: RandomSplit) -> Iterator[Problem]:
    if len(node.variants) < 2:
        yield Problem(
            node.id,
            "split_too_few_variants",
            f"{_title(node)} has {len(node.variants)} variant(s); add at least two.",
        )
    for variant in node.variants:
        if variant.percent <= 0:
            yield Problem(
                node.id,
                "split_percent_not_positive",
                f"Variant '{variant.name}' of {_name(node)} gets {variant.percent}%; "
                "give it more than 0% or remove it.",
            )
    total = sum(v.percent for v in node.variants)
    if node.variants and abs(total - 100) > 1e-6:
        yield Problem(
            node.id,
            "split_percent_sum",
            f"The variants of {_name(node)} add up to {total:g}%; make them add up to 100%.",
        )


def _predicates(node: Node) -> list[Predicate]:
    if isinstance(node, Condition):
        return [p for b in node.branches for p in b.predicates]
    if isinstance(node, TriggerEvent):
        return list(node.where)
    return []


def _predicate(node: Node, predicate: Predicate) -> Iterator[Problem]:
    """``has``/``not_has`` test for what the key names (``coupon_held welcome_10 has``)
    or, with no key, for the value (``tag has vip``); other operators compare a value."""
    test = f"The '{predicate.subject} {predicate.op}' test in {_name(node)}"
    if predicate.subject in _KEYED_SUBJECTS and not predicate.key:
        yield Problem(
            node.id,
            "predicate_missing_key",
            f"{test} has no key; set which {predicate.subject} to test.",
        )
    needs_value = predicate.op not in _PRESENCE_OPS or not predicate.key
    if predicate.value is None and needs_value:
        yield Problem(
            node.id,
            "predicate_missing_value",
            f"{test} has no value; set what to compare with.",
        )
    elif predicate.op in _LIST_OPS and not isinstance(predicate.value, list):
        yield Problem(
            node.id,
            "predicate_value_not_list",
            f'{test} needs a list value, e.g. ["a", "b"].',
        )
    if predicate.subject == "tag" and predicate.value is not None:
        yield from _names(node.id, "tag", _listed(predicate.value))
    if predicate.subject == "event_count" and predicate.key:
        yield from _names(node.id, "event", [predicate.key])


def _listed(value: object) -> list[object]:
    return list(value) if isinstance(value, list) else [value]


# ---------------------------------------------------------------- references


def _references(node: Node, catalog: Catalog) -> Iterator[Problem]:
    needs = node_needs(node)
    for template in sorted(needs.templates - catalog.templates):
        yield Problem(
            node.id,
            "unknown_template",
            f"{_title(node)} uses message template '{template}', which does not exist; "
            "create it or pick an existing one.",
        )
    by_channel = catalog.templates_by_channel
    if by_channel is not None and needs.templates_by_channel is not None:
        for channel, templates in needs.templates_by_channel.items():
            for template in sorted(
                (templates & catalog.templates) - by_channel.get(channel, _NO_NAMES)
            ):
                yield Problem(
                    node.id,
                    "template_wrong_channel",
                    f"{_title(node)} sends by {channel}, but template '{template}' is not a "
                    f"{channel} template; pick a {channel} template or change the channel.",
                )
    for coupon in sorted(needs.coupons - catalog.coupons):
        yield Problem(
            node.id,
            "unknown_coupon",
            f"{_title(node)} refers to coupon template '{coupon}', which does not exist; "
            "create it or pick an existing one.",
        )
    for tag in sorted(needs.tags - catalog.tags):
        yield Problem(
            node.id,
            "unknown_tag",
            f"{_title(node)} refers to tag '{tag}', which does not exist; create it first.",
        )


# ---------------------------------------------------------------- raw JSON


def _field_problem(data: object, loc: tuple[int | str, ...], msg: str) -> Problem:
    node_id: str | None = None
    path = list(loc)
    if len(loc) >= 2 and loc[0] == "nodes" and isinstance(loc[1], int):
        raw = _raw_node(data, loc[1])
        raw_id = raw.get("id")
        node_id = raw_id if isinstance(raw_id, str) else None
        if len(loc) >= 3 and loc[2] == raw.get("kind"):
            del path[2]  # pydantic adds the union tag; it is not part of the field path
    where = ".".join(str(part) for part in path) or "journey"
    return Problem(node_id, "invalid_field", f"{where}: {msg}; fix this field to match the schema.")


def _raw_node(data: object, index: int) -> dict[str, object]:
    nodes = data.get("nodes") if isinstance(data, dict) else None
    item = nodes[index] if isinstance(nodes, list) and index < len(nodes) else None
    return item if isinstance(item, dict) else {}


def _name(node: Node) -> str:
    return f"{node.kind.replace('_', ' ')} '{node.id}'"


def _title(node: Node) -> str:
    name = _name(node)
    return name[:1].upper() + name[1:]
