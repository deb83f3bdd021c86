"""reprint: 再掲 rows linked to their originals, checked, and never answered or counted twice.

A 再掲 row re-lists an item of another section, e.g. ``(1-1-②再掲)○マイナンバーカード普及に伴う…``
in 1-1-④. In the plan master it names its original by item id (``reprint_of``); a whole
section can be 再掲 (1-7-① of 1-2-①, its title carrying the marker; 2-1-① of 1-1-③, with no
marker at all). The links are checked whenever the plan is used (init, distribute,
consolidate): the original must exist, a chain (再掲 of a 再掲) resolves to its root, a cycle
is an error, and the 再掲 row's text must match the original's — the FY R3 report itself has
three such mismatches, each a warning showing both texts.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from .findings import Finding, finding
from .model import Item, Plan

# "(1-1-②再掲)" at the start of a content or section title; brackets full- or half-width.
MARKER = re.compile(r"^[(（]\s*([0-9０-９]+-[0-9０-９]+-[^)）\s]+?)\s*再掲\s*[)）]")


def strip_marker(text: str) -> tuple[str | None, str]:
    """``"(1-1-②再掲)○整理"`` → ``("1-1-②", "○整理")``; text without a marker → ``(None, text)``."""
    m = MARKER.match(text)
    if not m:
        return None, text
    return m.group(1), text[m.end():].lstrip()


@dataclass
class Links:
    """Each 再掲 row's root original (None when the link is broken), and the findings."""

    root: dict[str, str | None] = field(default_factory=dict)
    findings: list[Finding] = field(default_factory=list)


def link_reprints(plan: Plan) -> Links:
    """Resolve every 再掲 row to the row that is really answered, and check the link."""
    links = Links()
    for item in plan:
        if not item.is_reprint:
            continue
        root, problem = _resolve(plan, item)
        links.root[item.item_id] = root
        if problem is not None:
            links.findings.append(problem)
            continue
        assert root is not None and item.reprint_of is not None
        original = plan[root]
        if item.reprint_of != root:
            links.findings.append(finding("reprint.chain", item_id=item.item_id, value=item.reprint_of,
                                          root=root, path=_path(plan, item)))
        links.findings.extend(_compare(item, original, plan[item.reprint_of]))
    return links


def root_of(plan: Plan, item: Item) -> str | None:
    """The item id of the row a 再掲 row really stands for; None for a broken link."""
    return _resolve(plan, item)[0]


def _resolve(plan: Plan, item: Item) -> tuple[str | None, Finding | None]:
    seen = [item.item_id]
    current = item
    while current.reprint_of is not None:
        target = current.reprint_of
        if target not in plan:
            return None, finding("reprint.missing_original", item_id=item.item_id, value=target,
                                 content=item.content)
        if target in seen:
            return None, finding("reprint.cycle", item_id=item.item_id, value=target,
                                 path=" → ".join(seen + [target]))
        seen.append(target)
        current = plan[target]
    return current.item_id, None


def _path(plan: Plan, item: Item) -> str:
    ids = [item.item_id]
    current = item
    while current.reprint_of is not None and current.reprint_of in plan and current.reprint_of not in ids:
        ids.append(current.reprint_of)
        current = plan[current.reprint_of]
    return " → ".join(ids)


def _compare(item: Item, original: Item, target: Item) -> list[Finding]:
    """The 再掲 row must say what its root original says, and its marker must name the section of
    the row it links to (``target``; the root itself unless the link is a chain)."""
    out = []
    marker, text = strip_marker(item.content)
    if marker is None:
        marker, _ = strip_marker(item.section_title)
    if text != original.content:
        out.append(finding("reprint.text_mismatch", item_id=item.item_id, value=item.content,
                           original_id=original.item_id, text=text, original=original.content))
    if marker is not None and _same_code(marker) != _same_code(target.section_code):
        out.append(finding("reprint.marker_mismatch", item_id=item.item_id, value=marker,
                           original_id=target.item_id, code=target.section_code))
    return out


def _same_code(code: str) -> str:
    # Full-width digits and hyphens are the same code to the person who typed them.
    return code.translate(str.maketrans("０１２３４５６７８９－", "0123456789-"))
