#!/usr/bin/env python3
"""One Alembic inspection for db-release, in one interpreter.

    python3 alembic_inspect.py --config alembic.ini [--current rev,rev] [--sql]

Prints ONE JSON document on stdout: the script heads, every revision of the script directory
(ids, down revisions, depends_on, branch labels, merge/branch points, message, what its
downgrade body is), the revisions pending between the given current set and the heads in apply
order and, with --sql, each pending revision's downgrade readiness (its downgrade() rendered
offline; upgrade() is never called here: it is the migrate command's to run, once).

Why one process: every Alembic CLI call starts Python and imports SQLAlchemy (and, through
env.py, often the whole application); preflight used to make three of them.

Why render offline without env.py: env.py may import the application, need a live database or
have no offline mode at all. Each revision's downgrade() is called directly inside an
offline (as_sql) migration context of the configured dialect, so the answer is about the
revision itself: `ok` (rendered), `raises` (a `raise` in the revision's own code fired: the
downgrade will raise online too), `empty` (`pass` after an upgrade that does something: the
downgrade runs but leaves that change, e.g. a data backfill; shown, not blocking), `unknown`
(rendering failed in the machinery, e.g. the revision reads the database: it may still work
online).

Exit codes: 0 the document was printed; 3 alembic cannot be imported by this interpreter (a JSON
document with "error": "alembic_not_importable" is still printed); 4 the config or the script
directory is unusable ("error": "script_unusable").
"""

from __future__ import annotations

import argparse
import ast
import io
import json
import linecache
import os
import sys
import traceback
from typing import Any

FORMAT = "db-release-alembic-inspect/1"


def _emit(out: Any, document: dict[str, Any]) -> None:
    out.write(json.dumps(document, sort_keys=True))
    out.write("\n")
    out.flush()


def _as_list(value: Any) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):
        return [value]
    return [str(v) for v in value]


def _body_kind(path: str | None, name: str) -> str:
    """`pass` (no statement but pass/.../a docstring), `raises` (only a raise), `code`, or `missing`."""
    if not path or not os.path.isfile(path):
        return "missing"
    try:
        with open(path, encoding="utf-8") as handle:
            tree = ast.parse(handle.read(), filename=path)
    except (OSError, SyntaxError, ValueError):
        return "missing"
    for node in tree.body:
        if isinstance(node, ast.FunctionDef) and node.name == name:
            body = [
                stmt
                for stmt in node.body
                if not (isinstance(stmt, ast.Expr) and isinstance(stmt.value, ast.Constant) and isinstance(stmt.value.value, str))
            ]
            meaningful = [
                stmt
                for stmt in body
                if not isinstance(stmt, ast.Pass)
                and not (isinstance(stmt, ast.Expr) and isinstance(stmt.value, ast.Constant) and stmt.value.value is Ellipsis)
            ]
            if not meaningful:
                return "pass"
            if len(meaningful) == 1 and isinstance(meaningful[0], ast.Raise):
                return "raises"
            return "code"
    return "missing"


def _dialect_name(config: Any) -> str:
    url = os.environ.get("DATABASE_URL") or config.get_main_option("sqlalchemy.url") or ""
    scheme = url.split(":", 1)[0].split("+", 1)[0].strip().lower()
    if scheme in ("postgres", ""):
        return "postgresql"
    return scheme


def _exception_line(error: BaseException) -> str:
    return "".join(traceback.format_exception_only(type(error), error)).strip().splitlines()[-1][:500]


def _raised_by_revision(error: BaseException, path: str | None) -> bool:
    """True when the innermost frame is a `raise` statement in the revision's own file."""
    frames = traceback.extract_tb(error.__traceback__)
    if not frames or not path:
        return False
    last = frames[-1]
    if os.path.abspath(last.filename) != os.path.abspath(path):
        return False
    line = (last.line or linecache.getline(last.filename, last.lineno or 0)).strip()
    return line.startswith("raise")


def _render(dialect: str, revision: Any, direction: str) -> tuple[str, str | None, BaseException | None]:
    """Calls the revision's upgrade()/downgrade() in an offline context; returns (status, sql, error)."""
    from alembic.operations import Operations
    from alembic.runtime.migration import MigrationContext

    buffer = io.StringIO()
    try:
        context = MigrationContext.configure(
            dialect_name=dialect,
            opts={"as_sql": True, "output_buffer": buffer, "literal_binds": True},
        )
        with Operations.context(context):
            getattr(revision.module, direction)()
    except Exception as error:  # noqa: BLE001 - every failure is the answer, classified below
        return ("raises" if _raised_by_revision(error, revision.path) else "unknown", None, error)
    return ("ok", buffer.getvalue(), None)


def _apply_order(pending: set[str], parents: dict[str, list[str]], order: list[str]) -> list[str]:
    """Topological order of the pending revisions (parents first), ties broken by the script's order."""
    rank = {rev: i for i, rev in enumerate(order)}
    remaining = {rev: {p for p in parents.get(rev, []) if p in pending} for rev in pending}
    out: list[str] = []
    while remaining:
        ready = sorted((rev for rev, deps in remaining.items() if not deps), key=lambda r: rank.get(r, 0))
        if not ready:  # a cycle cannot come out of a RevisionMap; keep whatever is left in script order
            ready = sorted(remaining, key=lambda r: rank.get(r, 0))
        for rev in ready:
            out.append(rev)
            del remaining[rev]
        for deps in remaining.values():
            deps.difference_update(ready)
    return out


def inspect_script(config_path: str, current: list[str], sql: bool) -> dict[str, Any]:
    from alembic import __version__ as alembic_version
    from alembic.config import Config
    from alembic.script import ScriptDirectory

    config = Config(config_path)
    script = ScriptDirectory.from_config(config)
    revisions = list(script.walk_revisions(base="base", head="heads"))
    revisions.reverse()  # base first: the order ties are broken in
    by_id = {rev.revision: rev for rev in revisions}
    parents: dict[str, list[str]] = {}
    described = []
    for rev in revisions:
        down = _as_list(rev.down_revision)
        depends = list(getattr(rev, "_resolved_dependencies", ()) or ()) or _as_list(rev.dependencies)
        parents[rev.revision] = down + [d for d in depends if d not in down]
        described.append(
            {
                "revision": rev.revision,
                "down_revisions": down,
                "depends_on": depends,
                "branch_labels": sorted(rev.branch_labels or ()),
                "is_merge": bool(rev.is_merge_point),
                "is_branch_point": bool(rev.is_branch_point),
                "message": (rev.doc or "").strip(),
                "downgrade_body": _body_kind(rev.path, "downgrade"),
            }
        )

    def ancestors(ids: list[str]) -> set[str]:
        seen: set[str] = set()
        stack = list(ids)
        while stack:
            rev = stack.pop()
            if rev in seen or rev not in by_id:
                continue
            seen.add(rev)
            stack.extend(parents.get(rev, []))
        return seen

    heads = list(script.get_heads())
    unknown = [rev for rev in current if rev not in by_id]
    pending = _apply_order(ancestors(heads) - ancestors(current), parents, [r.revision for r in revisions])
    document: dict[str, Any] = {
        "format": FORMAT,
        "alembic_version": alembic_version,
        "python": sys.version.split()[0],
        "heads": heads,
        "current": current,
        "unknown_current": unknown,
        "revisions": described,
        "pending": pending,
    }
    if sql:
        dialect = _dialect_name(config)
        upgrade_parts: list[str] = []
        upgrade_errors: dict[str, str] = {}
        downgrades: dict[str, dict[str, str | None]] = {}
        for rev_id in pending:
            rev = by_id[rev_id]
            # upgrade() is NOT called here: it is the migrate command's to run, once. Calling it in
            # preflight ran a revision's own Python (a sleep, a print of 25 MB, a side effect) before
            # approval and a second time; rendering the upgrade SQL waits for issue 17's review, done
            # with Alembic's own offline mode. downgrade() is rendered because readiness needs it.
            if _body_kind(rev.path, "downgrade") == "pass":
                # A merge or no-op revision (upgrade `pass` too) has nothing to undo: that is ready.
                if _body_kind(rev.path, "upgrade") == "pass":
                    downgrades[rev_id] = {"status": "ok", "detail": "nothing to undo: upgrade() and downgrade() are both `pass`"}
                else:
                    downgrades[rev_id] = {"status": "empty", "detail": "downgrade() is `pass` but upgrade() changes something: a downgrade leaves that change in place"}
                continue
            status, text, error = _render(dialect, rev, "downgrade")
            if error is None:
                downgrades[rev_id] = {"status": "ok", "detail": None}
            elif status == "raises":
                downgrades[rev_id] = {"status": "raises", "detail": _exception_line(error)}
            else:
                downgrades[rev_id] = {"status": "unknown", "detail": f"offline render failed outside the revision's own raise: {_exception_line(error)}"}
        document["sql"] = {"dialect": dialect, "upgrade": "\n".join(upgrade_parts), "upgrade_errors": upgrade_errors, "downgrades": downgrades}
    return document


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", 1)[0])
    parser.add_argument("--config", required=True, help="the backend's alembic.ini")
    parser.add_argument("--current", default="", help="the database's revision set, comma separated (empty: base)")
    parser.add_argument("--sql", action="store_true", help="render the pending upgrades and their downgrades offline")
    args = parser.parse_args(argv)
    out = sys.stdout
    # Revision modules and the application they import may print: only the JSON goes to stdout.
    sys.stdout = sys.stderr
    try:
        import alembic  # noqa: F401
    except ImportError as error:
        _emit(out, {"format": FORMAT, "error": "alembic_not_importable", "detail": _exception_line(error), "python": sys.executable})
        return 3
    current = [rev for rev in (part.strip() for part in args.current.split(",")) if rev]
    try:
        document = inspect_script(args.config, current, args.sql)
    except Exception as error:  # noqa: BLE001 - reported as the document, the caller decides
        traceback.print_exc(file=sys.stderr)
        _emit(out, {"format": FORMAT, "error": "script_unusable", "detail": _exception_line(error)})
        return 4
    _emit(out, document)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
