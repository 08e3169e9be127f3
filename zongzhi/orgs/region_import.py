"""Import the administrative division tree (统计用区划代码) from the shared gz CSV files.

``import_division_tree`` loads provinces → cities → counties → townships → villages, level by level
in one transaction, so parent ids are known when children are written. It is a reconciliation,
not a blind insert:

* **Identity is the 12-digit code.** A row whose code is in the database updates that region in
  place (rename, level or parent change); nothing is ever deleted — regions that disappeared from
  the data are counted as ``absent`` and kept (other rows reference them with ``PROTECT``).
* **Re-coded regions keep their id.** When a code vanished from the data and a new code appears
  with the same (parent, name, level), the existing row takes the new code; failing that, a vanished
  row and a new row that are the only ones of their (name, level) are taken for a move.
* **Moves rewrite paths.** A region whose path changes (new parent or new code) has its own path,
  its descendants' paths and every scoped row's ``region_path`` rewritten by
  ``services.region_paths_rewrite`` — one range update per moved subtree.
* **Placeholder levels collapse.** Cities without counties (东莞, 中山, 儋州) and 金门县 carry a
  pseudo child whose 12-digit code equals the parent's; such a row is not stored, its children hang
  directly under the parent (as in the NBS code table). See docs/adr/0002-region-import.md.
* **Bad rows are reported and skipped** (file, line, reason); the good rows are kept. A child of a
  bad row is reported as having an unknown parent.
* **Idempotent:** a second run with the same data writes nothing but its audit row.

Every new region gets its center (village level: a work station) in the same transaction, and
one ``region.import`` audit row records the counts.
"""

from __future__ import annotations

import csv
import gc
import gzip
import time
from collections import defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NamedTuple

from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from zongzhi.core.audit import audit_record
from zongzhi.core.errors import FieldError

from .models import Center, CenterKind, Region, RegionLevel
from .paths import ancestors_or_self, child_path

CODE_WIDTH = 12
CHUNK = 5000  # rows turned into model objects at a time (bounds memory on the village level)
BATCH = 1000  # rows per INSERT/UPDATE statement (the SQLite backend caps it further)


class LevelSpec(NamedTuple):
    level: str
    file: str
    width: int
    parent_column: str | None


LEVELS: tuple[LevelSpec, ...] = (
    LevelSpec(RegionLevel.PROVINCE, "provinces.csv.gz", 2, None),
    LevelSpec(RegionLevel.CITY, "cities.csv.gz", 4, "provinceCode"),
    LevelSpec(RegionLevel.COUNTY, "areas.csv.gz", 6, "cityCode"),
    LevelSpec(RegionLevel.TOWNSHIP, "streets.csv.gz", 9, "areaCode"),
    LevelSpec(RegionLevel.VILLAGE, "villages.csv.gz", 12, "streetCode"),
)
_WIDTHS = {spec.width for spec in LEVELS}


class UnknownRootError(FieldError):
    """The ``root`` code is malformed or names no region in the data."""

    def __init__(self, root: str, message: str) -> None:
        super().__init__("root", message, code="unknown_root", root=root)


@dataclass(frozen=True)
class BadRow:
    file: str
    line: int
    code: str
    reason: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line}: {self.reason}"


@dataclass
class LevelCounts:
    rows: int = 0
    added: int = 0
    updated: int = 0
    unchanged: int = 0
    bad: int = 0


@dataclass
class ImportReport:
    """What an import did (or, with ``dry_run``, would do)."""

    root: str | None = None
    dry_run: bool = False
    added: int = 0
    updated: int = 0  # regions whose own name/code/level/parent changed (renamed ∪ recoded ∪ moved)
    unchanged: int = 0
    renamed: int = 0
    recoded: int = 0
    moved: int = 0  # regions whose parent changed
    repathed: int = 0  # regions in the data whose materialised path changed (moved/re-coded subtrees)
    absent: int = 0  # regions in the database (within the root) that the data no longer lists; kept
    centers_created: int = 0
    placeholders: list[BadRow] = field(default_factory=list)  # collapsed pseudo levels, see module doc
    bad_rows: list[BadRow] = field(default_factory=list)
    levels: dict[str, LevelCounts] = field(default_factory=dict)
    elapsed: float = 0.0

    @property
    def total(self) -> int:
        return self.added + self.updated + self.unchanged

    def counts(self) -> dict[str, Any]:
        return {
            "root": self.root,
            "added": self.added,
            "updated": self.updated,
            "unchanged": self.unchanged,
            "renamed": self.renamed,
            "recoded": self.recoded,
            "moved": self.moved,
            "repathed": self.repathed,
            "absent": self.absent,
            "centers_created": self.centers_created,
            "bad_rows": len(self.bad_rows),
            "placeholders": len(self.placeholders),
            "levels": {level: vars(c) for level, c in self.levels.items()},
        }


class _Row(NamedTuple):
    line: int
    short: str  # the code as written in the file (2/4/6/9/12 digits)
    code: str  # padded to 12 digits
    name: str
    parent_short: str


class _Existing(NamedTuple):
    id: int
    code: str
    name: str
    level: str
    parent_id: int | None
    path: str


class _Resolved(NamedTuple):
    id: int
    path: str


# --- reading ------------------------------------------------------------------------------------


def normalise_root(root: str) -> str:
    """The shortest code prefix that names ``root``'s subtree: "330100" and "3301" → "3301"."""
    root = root.strip()
    if not (root.isascii() and root.isdigit()) or len(root) not in _WIDTHS:
        raise UnknownRootError(root, _("区划代码须为 2、4、6、9 或 12 位数字：%(root)s") % {"root": root})
    stripped = root.rstrip("0")
    for spec in LEVELS:
        if spec.width >= len(stripped) and spec.width <= len(root):
            return root[: spec.width]
    raise UnknownRootError(root, _("区划代码无效：%(root)s") % {"root": root})


def _in_scope(short: str, parent_short: str, width: int, root_short: str | None) -> bool:
    if root_short is None:
        return True
    if width <= len(root_short):
        return root_short.startswith(short) and len(short) == width
    return short.startswith(root_short) or parent_short.startswith(root_short)


def _read_rows(path: Path) -> Iterator[tuple[int, dict[str, int], list[str]]]:
    with gzip.open(path, "rt", encoding="utf-8-sig", newline="") as fh:
        reader = csv.reader(fh)
        header = next(reader, None) or []
        columns = {name.strip(): i for i, name in enumerate(header)}
        for row in reader:
            if row:
                yield reader.line_num, columns, row


def _parse(
    data_dir: Path, root_short: str | None, report: ImportReport
) -> tuple[dict[str, list[_Row]], dict[str, list[_Row]]]:
    """Read and validate every file; returns good rows and placeholder rows per level."""
    rows: dict[str, list[_Row]] = {}
    placeholders: dict[str, list[_Row]] = {}
    known: dict[str, str] = {}  # good short code of the previous level → its padded code
    for spec in LEVELS:
        level_rows: list[_Row] = []
        level_placeholders: list[_Row] = []
        here: dict[str, str] = {}
        first_line: dict[str, int] = {}
        counts = report.levels.setdefault(spec.level, LevelCounts())
        path = data_dir / spec.file
        if not path.exists():
            raise FileNotFoundError(path)

        def bad(
            line: int, code: str, reason: str, _file: str = spec.file, _counts: LevelCounts = counts
        ) -> None:
            report.bad_rows.append(BadRow(_file, line, code, reason))
            _counts.bad += 1

        for line, columns, raw in _read_rows(path):
            code_i, name_i = columns.get("code", 0), columns.get("name", 1)
            parent_i = columns.get(spec.parent_column) if spec.parent_column else None
            short = raw[code_i].strip() if code_i < len(raw) else ""
            parent_short = raw[parent_i].strip() if parent_i is not None and parent_i < len(raw) else ""
            if not _in_scope(short, parent_short, spec.width, root_short):
                continue
            counts.rows += 1
            if spec.parent_column and parent_i is None:
                bad(line, short, _("缺少上级代码列 %(column)s") % {"column": spec.parent_column})
                continue
            if len(raw) <= max(code_i, name_i, parent_i or 0):
                bad(line, short, _("列数不足"))
                continue
            if not (short.isascii() and short.isdigit()):
                bad(line, short, _("代码含非数字字符：%(code)s") % {"code": short})
                continue
            if len(short) != spec.width:
                bad(
                    line,
                    short,
                    _("代码应为 %(width)d 位，实为 %(actual)d 位：%(code)s")
                    % {"width": spec.width, "actual": len(short), "code": short},
                )
                continue
            name = raw[name_i].strip()
            if not name:
                bad(line, short, _("名称为空"))
                continue
            if spec.parent_column:
                if not parent_short:
                    bad(line, short, _("上级代码为空"))
                    continue
                if not short.startswith(parent_short) or len(parent_short) >= len(short):
                    bad(
                        line,
                        short,
                        _("代码 %(code)s 不以上级代码 %(parent)s 开头")
                        % {"code": short, "parent": parent_short},
                    )
                    continue
                if parent_short not in known:
                    bad(line, short, _("上级代码 %(parent)s 不存在") % {"parent": parent_short})
                    continue
            if short in here:
                bad(
                    line,
                    short,
                    _("代码 %(code)s 重复（第 %(first)d 行已有）")
                    % {"code": short, "first": first_line[short]},
                )
                continue
            code = short.ljust(CODE_WIDTH, "0")
            here[short] = code
            first_line[short] = line
            row = _Row(line, short, code, name, parent_short)
            if spec.parent_column and known[parent_short] == code:
                level_placeholders.append(row)
                report.placeholders.append(
                    BadRow(spec.file, line, short, _("与上级同码的占位层级，下级直接挂到上级") % {})
                )
            else:
                level_rows.append(row)
        rows[spec.level] = level_rows
        placeholders[spec.level] = level_placeholders
        known = here
    return rows, placeholders


# --- writing -----------------------------------------------------------------------------------


def _center_for(region_id: int, level: str, name: str, path: str) -> Center:
    if level == RegionLevel.VILLAGE:
        return Center(
            region_id=region_id,
            name=f"{name}{_('综治工作站')}",
            kind=CenterKind.WORK_STATION,
            region_path=path,
        )
    return Center(
        region_id=region_id, name=f"{name}{_('综治中心')}", kind=CenterKind.CENTER, region_path=path
    )


def _load_existing(root_short: str | None, ancestor_codes: list[str]) -> dict[str, _Existing]:
    qs = Region.objects.all()
    if root_short is not None:
        # A half-open range serves the prefix from the unique index on both databases (ADR 0001).
        qs = qs.filter(Q(code__gte=root_short, code__lt=root_short + "~") | Q(code__in=ancestor_codes))
    return {
        row[1]: _Existing(*row)
        for row in qs.values_list("id", "code", "name", "level", "parent_id", "path").iterator(
            chunk_size=20000
        )
    }


def _regions_with_center(region_ids: list[int], everything: bool) -> set[int]:
    if everything:
        return set(Center.objects.values_list("region_id", flat=True).iterator(chunk_size=20000))
    found: set[int] = set()
    for i in range(0, len(region_ids), 900):
        found.update(
            Center.objects.filter(region_id__in=region_ids[i : i + 900]).values_list("region_id", flat=True)
        )
    return found


def import_division_tree(
    *,
    root: str | None,
    data_dir: Path,
    actor: Any = None,
    dry_run: bool = False,
    progress: Callable[[str], None] | None = None,
) -> ImportReport:
    """Reconcile the Region tree (and its centers) with the division files in ``data_dir``.

    ``root`` is a code prefix (2/4/6/9/12 digits, e.g. "3301" or "330100"): only that subtree is
    imported, together with its ancestors so the tree stays rooted; ``None`` imports the whole
    country. Runs in one transaction and writes one ``region.import`` audit row; with ``dry_run``
    everything is rolled back and the report tells what would have happened. Raises
    ``UnknownRootError`` when ``root`` names no region in the data.
    """
    # Hundreds of thousands of long-lived tuples make the cyclic GC rescan the heap over and over
    # (it doubled the run time); nothing here creates reference cycles worth collecting.
    gc_was_enabled = gc.isenabled()
    gc.disable()
    try:
        return _import(root=root, data_dir=data_dir, actor=actor, dry_run=dry_run, progress=progress)
    finally:
        if gc_was_enabled:
            gc.enable()


def _import(
    *, root: str | None, data_dir: Path, actor: Any, dry_run: bool, progress: Callable[[str], None] | None
) -> ImportReport:
    started = time.monotonic()
    say = progress or (lambda _message: None)
    report = ImportReport(root=root, dry_run=dry_run)
    root_short = normalise_root(root) if root is not None else None

    rows, placeholders = _parse(Path(data_dir), root_short, report)
    if root_short is not None:
        spec = next(s for s in LEVELS if s.width == len(root_short))
        if not any(r.short == root_short for r in rows[spec.level] + placeholders[spec.level]):
            raise UnknownRootError(root or "", _("数据中没有区划代码 %(root)s") % {"root": root})
    say(
        _("已读取 %(rows)d 行，坏行 %(bad)d 行")
        % {"rows": sum(map(len, rows.values())), "bad": len(report.bad_rows)}
    )

    with transaction.atomic():
        _reconcile(rows, placeholders, root_short, report, say)
        report.elapsed = time.monotonic() - started
        audit_record(
            actor=actor or "system",
            action="region.import",
            object_type="orgs.region",
            object_id=root_short or "",
            data={**report.counts(), "dry_run": dry_run},
        )
        if dry_run:
            transaction.set_rollback(True)
    report.elapsed = time.monotonic() - started
    return report


def _reconcile(
    rows: dict[str, list[_Row]],
    placeholders: dict[str, list[_Row]],
    root_short: str | None,
    report: ImportReport,
    say: Callable[[str], None],
) -> None:
    from .services import region_paths_rewrite

    now = timezone.now()
    incoming_codes = {r.code for level_rows in rows.values() for r in level_rows}
    ancestor_codes = [
        r.code for spec in LEVELS for r in rows[spec.level] if root_short and spec.width < len(root_short)
    ]
    existing = _load_existing(root_short, ancestor_codes)
    by_id = {e.id: e for e in existing.values()}
    vanished_by_parent: dict[tuple[int | None, str, str], list[int]] = defaultdict(list)
    vanished_by_name: dict[tuple[str, str], list[int]] = defaultdict(list)
    for e in sorted((e for e in existing.values() if e.code not in incoming_codes), key=lambda e: e.code):
        vanished_by_parent[(e.parent_id, e.name, e.level)].append(e.id)
        vanished_by_name[(e.name, e.level)].append(e.id)
    claimed: set[int] = set()
    # Regions whose path changes: id → (old path, new path). Used to tell a subtree root (needs a
    # rewrite) from a descendant whose path follows its ancestor's rewrite.
    path_changes: dict[int, tuple[str, str]] = {}
    rewrites: list[tuple[str, str]] = []
    renamed_ids: dict[int, tuple[str, str, str]] = {}  # id → (old name, new name, new level)
    with_center = _regions_with_center([e.id for e in existing.values()], everything=root_short is None)

    resolved: dict[str, _Resolved] = {}  # short code of the previous level → region id and new path
    root_resolved = _Resolved(0, "")
    for spec in LEVELS:
        counts = report.levels[spec.level]
        parents = resolved
        resolved = {}
        for ph in placeholders[spec.level]:
            resolved[ph.short] = parents[ph.parent_short]
        to_update: list[Region] = []
        pending: list[tuple[_Row, _Resolved]] = []

        def settle(
            row: _Row,
            parent: _Resolved,
            ex: _Existing,
            _level: str = spec.level,
            _to_update: list[Region] = to_update,
            _counts: LevelCounts = counts,
            _resolved: dict[str, _Resolved] = resolved,
        ) -> None:
            claimed.add(ex.id)
            parent_id = parent.id or None
            new_path = child_path(parent.path, row.code)
            _resolved[row.short] = _Resolved(ex.id, new_path)
            if ex.path != new_path:
                path_changes[ex.id] = (ex.path, new_path)
                via = path_changes.get(parent_id) if parent_id is not None else None
                covered = (
                    via is not None
                    and ex.parent_id == parent_id
                    and ex.code == row.code
                    and ex.path.startswith(via[0])
                    and via[1] + ex.path[len(via[0]) :] == new_path
                )
                if not covered:
                    rewrites.append((ex.path, new_path))
            changed = False
            if ex.name != row.name:
                report.renamed += 1
                changed = True
            if ex.code != row.code:
                report.recoded += 1
                changed = True
            if ex.parent_id != parent_id:
                report.moved += 1
                changed = True
            if ex.level != _level:
                changed = True
            if changed:
                if ex.name != row.name or ex.level != _level:
                    renamed_ids[ex.id] = (ex.name, row.name, _level)
                _to_update.append(
                    Region(
                        id=ex.id,
                        code=row.code,
                        name=row.name,
                        level=_level,
                        parent_id=parent_id,
                        updated_at=now,
                    )
                )
                report.updated += 1
                _counts.updated += 1
            else:
                report.unchanged += 1
                _counts.unchanged += 1

        # 1. same code → the same region.
        for row in rows[spec.level]:
            parent = parents[row.parent_short] if spec.parent_column else root_resolved
            ex = existing.get(row.code)
            if ex is not None and ex.id not in claimed:
                settle(row, parent, ex)
            else:
                pending.append((row, parent))
        # 2. re-coded: a vanished code with the same (parent, name, level).
        if pending and vanished_by_parent:
            still: list[tuple[_Row, _Resolved]] = []
            for row, parent in pending:
                ids = [
                    i
                    for i in vanished_by_parent.get((parent.id or None, row.name, spec.level), ())
                    if i not in claimed
                ]
                if ids:
                    settle(row, parent, by_id[ids[0]])
                else:
                    still.append((row, parent))
            pending = still
        # 3. moved: the only vanished and the only new region of that (name, level).
        if pending and vanished_by_name:
            new_by_name: dict[str, int] = defaultdict(int)
            for row, _parent in pending:
                new_by_name[row.name] += 1
            still = []
            for row, parent in pending:
                ids = [i for i in vanished_by_name.get((row.name, spec.level), ()) if i not in claimed]
                if len(ids) == 1 and new_by_name[row.name] == 1:
                    settle(row, parent, by_id[ids[0]])
                else:
                    still.append((row, parent))
            pending = still

        if to_update:
            Region.objects.bulk_update(
                to_update, ["code", "name", "level", "parent_id", "updated_at"], batch_size=BATCH
            )
        # 4. the rest is new.
        keep_ids = spec.level != RegionLevel.VILLAGE
        for start in range(0, len(pending), CHUNK):
            chunk = pending[start : start + CHUNK]
            objs = [
                Region(
                    code=row.code,
                    name=row.name,
                    level=spec.level,
                    parent_id=parent.id or None,
                    path=child_path(parent.path, row.code),
                    updated_at=now,
                )
                for row, parent in chunk
            ]
            Region.objects.bulk_create(objs, batch_size=BATCH)
            if any(o.pk is None for o in objs):  # backends that cannot return ids from a bulk insert
                by_code: dict[str, int] = {}
                for i in range(0, len(objs), 900):
                    codes = [o.code for o in objs[i : i + 900]]
                    by_code.update(Region.objects.filter(code__in=codes).values_list("code", "id"))
                for o in objs:
                    o.pk = by_code[o.code]
            centers = [_center_for(o.pk, spec.level, o.name, o.path) for o in objs]
            Center.objects.bulk_create(centers, batch_size=BATCH)
            report.centers_created += len(centers)
            if keep_ids:
                for (row, _parent), o in zip(chunk, objs, strict=True):
                    resolved[row.short] = _Resolved(o.pk, o.path)
        report.added += len(pending)
        counts.added += len(pending)
        say(
            _("%(level)s：新增 %(added)d，更新 %(updated)d，未变 %(unchanged)d")
            % {
                "level": spec.level,
                "added": counts.added,
                "updated": counts.updated,
                "unchanged": counts.unchanged,
            }
        )

    report.absent = sum(1 for e in existing.values() if e.id not in claimed)
    report.repathed = len(path_changes)
    # Rewrites run top-down; a subtree root below an already rewritten one is found in the
    # database under its ancestor's new prefix.
    applied: dict[str, str] = {}
    for old_prefix, new_prefix in rewrites:
        current = old_prefix
        for prefix in reversed(ancestors_or_self(old_prefix)[:-1]):
            if prefix in applied:
                current = applied[prefix] + old_prefix[len(prefix) :]
                break
        applied[old_prefix] = new_prefix
        region_paths_rewrite(old_prefix=current, new_prefix=new_prefix)
    _sync_centers(existing, claimed, with_center, renamed_ids, report)


def _sync_centers(
    existing: dict[str, _Existing],
    claimed: set[int],
    with_center: set[int],
    renamed_ids: dict[int, tuple[str, str, str]],
    report: ImportReport,
) -> None:
    """Give every imported region lacking one its center; follow renames where the center still
    carries the default name (a name an administrator changed is left alone)."""
    missing = [i for i in claimed if i not in with_center]
    for start in range(0, len(missing), CHUNK):
        regions = Region.objects.filter(id__in=missing[start : start + CHUNK]).values_list(
            "id", "level", "name", "path"
        )
        centers = [_center_for(*r) for r in regions]
        Center.objects.bulk_create(centers, batch_size=BATCH)
        report.centers_created += len(centers)
    if not renamed_ids:
        return
    old_levels = {e.id: e.level for e in existing.values() if e.id in renamed_ids}
    to_update: list[Center] = []
    ids = list(renamed_ids)
    for start in range(0, len(ids), 900):
        for center in Center.objects.filter(region_id__in=ids[start : start + 900]):
            old_name, new_name, new_level = renamed_ids[center.region_id]
            default = _center_for(center.region_id, old_levels[center.region_id], old_name, "")
            if center.name == default.name:
                fresh = _center_for(center.region_id, new_level, new_name, "")
                center.name, center.kind = fresh.name, fresh.kind
                to_update.append(center)
    Center.objects.bulk_update(to_update, ["name", "kind"], batch_size=BATCH)
