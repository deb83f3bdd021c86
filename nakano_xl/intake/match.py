"""Which item an answer row answers: its hidden item id and its identifying texts must agree.

A row carries two witnesses of its item: the item id in the hidden last column, and the
fixed texts a person sees (the template's ``identifying_columns``: 実施内容, 事業内容, 所管課).
The answers sit beside the texts, so whatever a person does to visible rows — sorting them
with the id column left out of the range, swapping two rows' ids after unprotecting the
sheet — moves the answers with the texts, never with the id. The texts name the items of
this file that agree with most of them (with all of them, unless a text was edited or the
plan reworded after distribution); then:

- id and texts name the same item: the row answers it (a sorted sheet, ids moved along,
  still reads right); an edited text is reported as ``cell.fixed_edited`` by the caller;
- the texts name no item (every one of them edited): the id decides;
- the texts name exactly one other item of this file: the texts decide (``row.moved``,
  a warning naming both items), provided no other row claims that item too;
- anything else — texts naming several items while the id names none of them, two rows
  claiming one item in different ways — leaves the row unused (``row.id_conflict``, an
  error on each item concerned), never a guess.

Where the texts name several items (items with identical texts, or an edited text leaving a
tie) the id chooses among them, and is trusted only while no row of the file shows ids and
texts disagreeing about those items: a permutation among rows of identical texts cannot be
seen by anyone.

A row whose id names no item of this file did not get there by moving rows (moving only
permutes the ids distribute wrote): it is the caller's ``row.id_edited`` / ``row.unknown``.
Without a plan (``check`` of a single file) there are no texts to compare with, and the id
decides alone.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ..findings import Finding, finding
from ..layout import InputColumns
from ..model import Item
from ..xlsx.cells import a1
from ..xlsx.worksheet import Sheet

if TYPE_CHECKING:
    from .rows import Reading

BOTH = "both"  # id and texts name the item
TEXTS = "texts"  # the texts name it, the id another item of this file
ID = "id"  # the id names it, the texts no item at all


def same_text(found: str, expected: str) -> bool:
    """A fixed cell's text as distribute wrote it (a client may store line breaks as CRLF)."""
    return found == expected or found.replace("\r\n", "\n") == expected


def plan_text(item: Item, key: str) -> str:
    """What distribute writes in a fixed column for ``item``."""
    if key == "section":
        return item.section_label
    if key == "content":
        return item.content
    if key == "departments":
        return item.departments
    raise KeyError(key)


def identifying_keys(cols: InputColumns, r: Reading) -> tuple[str, ...]:
    """The template's identifying columns this file has (its layout is the signed one)."""
    return tuple(k for k in r.template.identifying if k in cols.keys)


@dataclass(frozen=True, slots=True)
class Claim:
    row: int
    item_id: str
    basis: str  # BOTH, TEXTS or ID
    named: tuple[str, ...] = ()  # the items the row's texts name best
    full: bool = True  # every identifying text is the item's (not merely the most of them)


@dataclass(frozen=True, slots=True)
class Unmatched:
    row: int
    by_id: str  # the id as typed (one this file may answer)
    by_texts: tuple[str, ...]  # the items the texts name (may be empty)


@dataclass
class Matching:
    used: dict[int, str] = field(default_factory=dict)  # row → the item it answers
    findings: list[Finding] = field(default_factory=list)
    explained: set[str] = field(default_factory=set)  # unanswered items a finding here already names


class Texts:
    """The identifying texts of the items a file may answer, indexed by column and text."""

    def __init__(self, r: Reading, keys: tuple[str, ...]) -> None:
        assert r.plan is not None
        self.keys = keys
        self.index: list[dict[str, list[str]]] = [{} for _ in keys]
        self.groups: dict[tuple[str, ...], list[str]] = {}  # items whose texts are all the same
        self.group: dict[str, list[str]] = {}
        for item_id in r.assigned:
            item = r.plan.get(item_id)
            if item is None:
                continue
            texts = tuple(plan_text(item, k) for k in keys)
            for by_text, text in zip(self.index, texts):
                by_text.setdefault(text, []).append(item_id)
            self.group[item_id] = self.groups.setdefault(texts, [])
            self.group[item_id].append(item_id)

    def named(self, found: tuple[str, ...]) -> tuple[tuple[str, ...], bool]:
        """The items agreeing with most of ``found`` (in the file's order), and whether in every text.

        Most, not all: a text edited as well as moved, or reworded in the plan after
        distribution, still leaves the others to say which item the row is. Counting costs up
        to the file's item count per row (a 所管課 is every row's), so it is done only for rows
        whose texts are not some item's exactly.
        """
        found = tuple(text.replace("\r\n", "\n") for text in found)
        exact = self.groups.get(found)
        if exact:  # every row of a file as distributed: no counting
            return tuple(exact), True
        votes: dict[str, int] = {}
        for by_text, text in zip(self.index, found):
            for item_id in by_text.get(text, ()):
                votes[item_id] = votes.get(item_id, 0) + 1
        best = max(votes.values(), default=0)
        return tuple(i for i, n in votes.items() if n == best), best == len(self.keys)


def match_rows(sheet: Sheet, rows: Iterable[int], cols: InputColumns, r: Reading,
               where: dict[str, Any]) -> Matching:
    """Decide the item of every row whose id this file may answer (``rows``, in sheet order)."""
    keys = identifying_keys(cols, r) if r.plan is not None else ()
    id_col = cols.item_id
    claims: list[Claim] = []
    unmatched: list[Unmatched] = []
    if r.plan is None or not keys:
        claims = [Claim(row, sheet.text(row, id_col).strip(), BOTH) for row in rows]
        return settle(sheet, claims, unmatched, cols, r, keys, where)
    texts = Texts(r, keys)
    for row in rows:
        item_id = sheet.text(row, id_col).strip()
        named, full = texts.named(tuple(sheet.text(row, cols.col(k)) for k in keys))
        if item_id in named:
            claims.append(Claim(row, item_id, BOTH, named, full))
        elif not named:
            claims.append(Claim(row, item_id, ID))
        elif len(named) == 1:
            claims.append(Claim(row, named[0], TEXTS, named, full))
        else:
            unmatched.append(Unmatched(row, item_id, named))
    # Where the texts name several items the id chose among them: no proof where the file
    # shows ids moved among those very items.
    disputed: set[str] = set()
    for c in claims:
        if c.basis == TEXTS:
            disputed.update(c.named, texts.group.get(sheet.text(c.row, id_col).strip(), ()))
    for u in unmatched:
        disputed.update(u.by_texts, texts.group.get(u.by_id, ()))
    kept = []
    for c in claims:
        if c.basis == BOTH and len(c.named) > 1 and disputed.intersection(c.named):
            unmatched.append(Unmatched(c.row, c.item_id, c.named))
        else:
            kept.append(c)
    return settle(sheet, kept, unmatched, cols, r, keys, where)


def settle(sheet: Sheet, claims: list[Claim], unmatched: list[Unmatched], cols: InputColumns, r: Reading,
           keys: tuple[str, ...], where: dict[str, Any]) -> Matching:
    """One row per item: the claims on each item weighed against each other, then the findings."""
    out = Matching()
    id_col = cols.item_id
    by_item: dict[str, list[Claim]] = {}
    for c in claims:
        by_item.setdefault(c.item_id, []).append(c)
    for item_id, rivals in by_item.items():
        confirmed = sorted((c for c in rivals if c.basis == BOTH), key=lambda c: not c.full)
        if len(rivals) == 1 or confirmed or all(c.basis == ID for c in rivals):
            # A row whose id and texts agree beats rows that only one of them points here; among
            # equals (a copied row) the first one counts, as it always has.
            best = confirmed or rivals
            winner = best[0]
            out.used[winner.row] = item_id
            for c in rivals:
                if c is winner:
                    continue
                if c.basis == winner.basis:
                    out.findings.append(finding("row.duplicate", cell=a1(c.row, id_col), value=item_id,
                                                item_id=item_id, first=f"{winner.row}行目", **where))
                else:
                    unmatched.append(Unmatched(c.row, sheet.text(c.row, id_col).strip(), by_texts(c)))
        else:
            for c in rivals:
                unmatched.append(Unmatched(c.row, sheet.text(c.row, id_col).strip(), by_texts(c)))
    labels = r.labels()
    what = "・".join(labels.get(k, k) for k in keys)
    for row, item_id in out.used.items():
        typed_id = sheet.text(row, id_col).strip()
        if typed_id != item_id:
            out.findings.append(finding("row.moved", cell=a1(row, id_col), value=typed_id, item_id=item_id,
                                        labels=what, by_id=describe(typed_id, r), by_texts=describe(item_id, r),
                                        **where))
    answered = set(out.used.values())
    for u in sorted(unmatched, key=lambda u: u.row):
        named = list(dict.fromkeys([u.by_id, *u.by_texts]))
        open_items = [i for i in named if i not in answered]
        texts = "".join(f"「{describe(i, r)}」" for i in u.by_texts) or "どの事業内容とも一致しない文言"
        if len(u.by_texts) > 1:
            texts += "のいずれか"
        concerned: list[str | None] = [*open_items] or [None]  # at least one finding per unused row
        for concern in concerned:
            out.findings.append(finding("row.id_conflict", cell=a1(u.row, id_col), value=u.by_id, item_id=concern,
                                        row=u.row, labels=what or "固定の欄", by_id=describe(u.by_id, r),
                                        by_texts=texts, **where))
        out.explained.update(open_items)
    out.used = dict(sorted(out.used.items()))
    return out


def by_texts(c: Claim) -> tuple[str, ...]:
    """The items a claim's texts name (none when only its id pointed at the item)."""
    return (c.item_id,) if c.basis == TEXTS else ()


def describe(item_id: str, r: Reading) -> str:
    """``T3 共通基盤の整備``: an item as a person finds it in the sheet."""
    item = r.plan.get(item_id) if r.plan is not None else None
    if item is None:
        return item_id
    content = item.content if len(item.content) <= 40 else item.content[:40] + "…"
    return f"{item_id} {content}"
