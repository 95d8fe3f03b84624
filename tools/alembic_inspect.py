#!/usr/bin/env python3
"""One Alembic inspection for db-release, in one interpreter.

    python3 alembic_inspect.py --config alembic.ini [--current rev,rev] [--sql] [--upgrade-sql] [--alembic]
    python3 alembic_inspect.py --serve-once SECONDS   (started ahead; the arguments come on stdin)

Prints ONE JSON document on stdout: the script heads, every revision of the script directory
(ids, down revisions, depends_on, branch labels, merge/branch points, message, what its
downgrade body is), the revisions pending between the given current set and the heads in apply
order and, with --sql, each pending revision's downgrade readiness (its downgrade() rendered
offline; upgrade() is never called by that part: it is the migrate command's to run, once).

With --upgrade-sql, AFTER that document, a second line: the SQL of the pending range rendered
by Alembic's own offline mode (`upgrade --sql` and `downgrade --sql` over exactly the pending
range) through the backend's env.py, attributed to each revision. It is printed after the
inspection, so a revision whose offline render hangs (its upgrade() sleeps even offline) leaves
the inspection usable: the caller stops this process at its own deadline and reports the SQL
unavailable (timed out). Rendering offline does not run a migration: nothing reaches the
database, the statements are written to a buffer. An env.py without offline mode (it never
asks context.is_offline_mode()) is not run: its SQL is reported unavailable, never guessed.

A database already at the single head (the given set is exactly the head) is answered without
importing Alembic when the scripts are plain: one script_location, every revision file declaring
revision and down_revision as literals, no depends_on or branch labels (`static_inspection`; the
document says "reader": "static"). Nothing is pending then, so there is nothing to render.
Anything else, or --alembic, loads the scripts with Alembic as below.

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
import hashlib
import io
import json
import linecache
import os
import re
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


_PARSED: dict[tuple[str, int, int], ast.Module | None] = {}


def _parse(path: str) -> ast.Module | None:
    """A revision file's syntax tree, parsed once per process (the static read and the body kinds
    all ask for it); None when it cannot be read or parsed. Keyed by size and mtime too, so a file
    changed meanwhile is parsed again."""
    try:
        found = os.stat(path)
    except OSError:
        return None
    key = (path, found.st_mtime_ns, found.st_size)
    if key not in _PARSED:
        try:
            with open(path, "rb") as handle:
                _PARSED[key] = ast.parse(handle.read(), filename=path)
        except (OSError, SyntaxError, ValueError):
            _PARSED[key] = None
    return _PARSED[key]


def _body_kind(path: str | None, name: str) -> str:
    """`pass` (no statement but pass/.../a docstring), `raises` (only a raise), `code`, or `missing`."""
    if not path or not os.path.isfile(path):
        return "missing"
    tree = _parse(path)
    if tree is None:
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


def _fingerprint(files: list[str], dirs: list[str]) -> str:
    """The content hash of everything the revision graph is read from, taken BEFORE it is read.

    src/runtime/inspection-cache.ts computes the same hash in Node (the same walk, the same bytes):
    a worker that finds it unchanged knows the graph is unchanged. Taken before the scripts are
    loaded, a file edited during the inspection makes the next hash differ (a miss), never a stale hit.
    """
    digest = hashlib.sha256()

    def add_file(file_path: str) -> None:
        try:
            with open(file_path, "rb") as handle:
                data = handle.read()
        except OSError:
            digest.update(b"M\0" + file_path.encode() + b"\0")
            return
        digest.update(b"F\0" + file_path.encode() + b"\0" + str(len(data)).encode() + b"\0")
        digest.update(data)

    def walk(dir_path: str) -> None:
        try:
            names = sorted(os.listdir(dir_path))
        except OSError:
            digest.update(b"M\0" + dir_path.encode() + b"\0")
            return
        digest.update(b"D\0" + dir_path.encode() + b"\0")
        for name in names:
            if name == "__pycache__":
                continue
            child = os.path.join(dir_path, name)
            if os.path.isdir(child):
                walk(child)
            elif os.path.isfile(child):
                add_file(child)

    for file_path in files:
        add_file(file_path)
    for dir_path in dirs:
        walk(dir_path)
    return digest.hexdigest()


def _graph_sources(config: Any, script: Any) -> dict[str, Any]:
    """The files the revision graph comes from (the config and every version location), hashed now."""
    files = [os.path.abspath(config.config_file_name)] if config.config_file_name else []
    locations = getattr(script, "_version_locations", None)
    sourceless = bool(getattr(script, "sourceless", False))
    if locations is None or sourceless:
        # An Alembic without the attribute, or revisions read from .pyc files the walk skips: never cached.
        return {"config_files": files, "version_dirs": [], "fingerprint": None}
    dirs = [str(location) for location in locations]
    return {"config_files": files, "version_dirs": dirs, "fingerprint": _fingerprint(files, dirs)}


def inspect_script(config_path: str, current: list[str], sql: bool) -> dict[str, Any]:
    from alembic import __version__ as alembic_version
    from alembic.config import Config
    from alembic.script import ScriptDirectory

    config = Config(config_path)
    script = ScriptDirectory.from_config(config)
    sources = _graph_sources(config, script)
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
        "sources": sources,
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


_SOURCE_REV_FILE = re.compile(r"(?!\.\#|__init__)(.*\.py)$")  # alembic.script.base._only_source_rev_file
_GRAPH_NAMES = ("revision", "down_revision", "depends_on", "branch_labels")
_FALSE = ("", "false", "0", "no", "off")


def _static_revision(file_path: str) -> dict[str, Any] | None:
    """A revision file's graph attributes read from its source, or None when only running it could tell.

    Only plain module-level assignments of literals count (what `alembic revision` writes); a name
    assigned anywhere else, imported, or declared global, a computed value, depends_on or
    branch_labels: None, and the caller lets Alembic load the scripts.
    """
    tree = _parse(file_path)
    if tree is None:
        return None
    values: dict[str, Any] = {}
    for node in ast.walk(tree):
        if isinstance(node, (ast.Import, ast.ImportFrom)) and any(
            (alias.asname or alias.name) in _GRAPH_NAMES for alias in node.names
        ):
            return None
        if isinstance(node, (ast.Global, ast.Nonlocal)) and any(name in _GRAPH_NAMES for name in node.names):
            return None
    for node in tree.body:
        targets: list[ast.expr] = []
        value: ast.expr | None = None
        if isinstance(node, ast.Assign):
            targets, value = node.targets, node.value
        elif isinstance(node, ast.AnnAssign):
            targets, value = [node.target], node.value
        names = [t.id for t in targets if isinstance(t, ast.Name) and t.id in _GRAPH_NAMES]
        if not names:
            continue
        if len(targets) != 1 or value is None or names[0] in values:
            return None
        try:
            values[names[0]] = ast.literal_eval(value)
        except (ValueError, SyntaxError, TypeError):
            return None
    # Every store of a graph name must have been one of the top-level assignments read above.
    stores = [
        node
        for node in ast.walk(tree)
        if isinstance(node, ast.Name) and node.id in _GRAPH_NAMES and not isinstance(node.ctx, ast.Load)
    ]
    if len(stores) != len(values):
        return None
    revision = values.get("revision")
    down = values.get("down_revision")
    if not isinstance(revision, str) or not revision:
        return None
    if values.get("depends_on") not in (None, (), []) or values.get("branch_labels") not in (None, (), []):
        return None
    if down is None:
        downs: list[str] = []
    elif isinstance(down, str):
        downs = [down]
    elif isinstance(down, (tuple, list)) and all(isinstance(d, str) for d in down):
        downs = list(down)
    else:
        return None
    longdoc = (ast.get_docstring(tree, clean=False) or "").strip()
    return {"revision": revision, "down_revisions": downs, "message": re.split("\n\n", longdoc)[0].strip(), "path": file_path}


def static_inspection(config_path: str, current: list[str]) -> dict[str, Any] | None:
    """The inspection of a database already at the single head, read without importing Alembic.

    A release whose database is at the head has nothing pending: no downgrade to judge, no SQL to
    render. What it needs is the head, and for that the scripts' own declarations suffice when they
    are plain. Anything else returns None and Alembic answers: a config beyond one script_location
    (version_locations, sourceless, recursive, a package resource), a file that only running it
    could describe, depends_on or branch labels, duplicate or dangling ids, several heads, or a
    database anywhere but exactly at the head.
    """
    import configparser
    from pathlib import Path

    config_file = Path(config_path)
    parser = configparser.ConfigParser({"here": config_file.absolute().parent.as_posix()})
    try:
        with open(config_file, encoding="utf-8") as handle:
            parser.read_file(handle)
        section = parser["alembic"]
        location = section.get("script_location")
        if not location:
            return None
        for option in ("version_locations", "sourceless", "recursive_version_locations"):
            if (section.get(option) or "").strip().lower() not in _FALSE:
                return None
    except (OSError, KeyError, configparser.Error, ValueError):
        return None
    if ":" in location and not os.path.isabs(location):
        return None
    versions = str(Path(location, "versions").absolute())
    files = [os.path.abspath(config_path)]
    fingerprint = _fingerprint(files, [versions])
    try:
        names = sorted(os.listdir(versions))
    except OSError:
        return None
    read: list[dict[str, Any]] = []
    for name in names:
        path = os.path.join(versions, name)
        if os.path.isdir(path) or not _SOURCE_REV_FILE.match(name):
            continue
        revision = _static_revision(path)
        if revision is None:
            return None
        read.append(revision)
    ids = [r["revision"] for r in read]
    if not ids or len(set(ids)) != len(ids):
        return None
    children: dict[str, int] = {}
    for r in read:
        for down in r["down_revisions"]:
            if down not in ids:
                return None
            children[down] = children.get(down, 0) + 1
    heads = [rev for rev in ids if rev not in children]
    if len(heads) != 1 or sorted(current) != heads:
        return None
    return {
        "format": FORMAT,
        "alembic_version": "not imported (read statically)",
        "python": sys.version.split()[0],
        "reader": "static",
        "heads": heads,
        "current": current,
        "unknown_current": [],
        "revisions": [
            {
                "revision": r["revision"],
                "down_revisions": r["down_revisions"],
                "depends_on": [],
                "branch_labels": [],
                "is_merge": len(r["down_revisions"]) > 1,
                "is_branch_point": children.get(r["revision"], 0) > 1,
                "message": r["message"],
                "downgrade_body": _body_kind(r["path"], "downgrade"),
            }
            for r in read
        ],
        "pending": [],
        "sources": {"config_files": files, "version_dirs": [versions], "fingerprint": fingerprint},
    }


SQL_FORMAT = "db-release-alembic-sql/1"
MARKER = "-- db-release-revision: "


def _env_py_of(script: Any) -> str:
    return os.path.join(script.dir, "env.py")


def _offline_reason(script: Any) -> str | None:
    """Why env.py cannot render offline (None: it has an offline mode)."""
    path = _env_py_of(script)
    try:
        with open(path, encoding="utf-8") as handle:
            text = handle.read()
    except OSError as error:
        return f"env.py is not readable ({error.strerror})"
    if "is_offline_mode" not in text:
        return "env.py has no offline mode (it never checks context.is_offline_mode()), so Alembic cannot render SQL without a database"
    return None


def _run_offline(config_path: str, direction: str, start: list[str], destination: str) -> tuple[dict[str, str], dict[str, str]]:
    """One offline run of env.py; returns ({revision: sql}, {revision or "*": why unavailable})."""
    from alembic.config import Config
    from alembic.runtime.environment import EnvironmentContext
    from alembic.script import ScriptDirectory

    buffer = io.StringIO()
    config = Config(config_path, output_buffer=buffer)
    script = ScriptDirectory.from_config(config)

    def steps(rev: Any, context: Any) -> Any:
        listed = script._upgrade_revs(destination, rev) if direction == "upgrade" else script._downgrade_revs(destination, rev)
        for step in listed:
            # Printed into the same output as the statements, just before the step's own: each
            # statement is attributed to exactly the revision that emits it.
            context.impl.static_output(MARKER + step.revision.revision)
            yield step

    error_text: str | None = None
    try:
        with EnvironmentContext(config, script, fn=steps, as_sql=True, starting_rev=start or "base", destination_rev=destination):
            script.run_env()
    except BaseException as error:  # noqa: BLE001 - SystemExit from an env.py that gives up offline too
        if isinstance(error, KeyboardInterrupt):
            raise
        traceback.print_exc(file=sys.stderr)
        error_text = f"exit {error.code}" if isinstance(error, SystemExit) else _exception_line(error)
    preamble: list[str] = []
    by_rev: dict[str, list[str]] = {}
    target = preamble
    last: str | None = None
    for line in buffer.getvalue().splitlines():
        if line.startswith(MARKER):
            last = line[len(MARKER):].strip()
            target = by_rev.setdefault(last, [])
            continue
        target.append(line)
    rendered = {rev: "\n".join(lines).strip() + "\n" for rev, lines in by_rev.items()}
    if error_text is None:
        return rendered, {}
    # What was rendered before the failure stands; the revision being rendered and every later one
    # are unavailable, each saying why.
    failed: dict[str, str] = {}
    if last is not None:
        rendered.pop(last, None)
        failed[last] = f"its {direction}() failed offline: {error_text}"
        rest = f"not rendered: the offline {direction} stopped at {last}"
    else:
        rest = f"env.py failed in offline mode before any revision ({error_text}; its stderr is in the step's log)"
    failed["*"] = rest
    return rendered, failed


def render_pending_sql(config_path: str, current: list[str], pending: list[str]) -> dict[str, Any]:
    """The pending range's SQL per revision, upgrade and downgrade, from Alembic's offline mode."""
    from alembic.config import Config
    from alembic.script import ScriptDirectory

    document: dict[str, Any] = {"format": SQL_FORMAT, "unavailable": None, "revisions": {}}
    if not pending:
        return document
    script = ScriptDirectory.from_config(Config(config_path))
    reason = _offline_reason(script)
    if reason:
        document["unavailable"] = reason
        return document
    heads = list(script.get_heads())
    missing = "not in Alembic's offline output for the pending range"
    upgrades, up_failed = _run_offline(config_path, "upgrade", current, "heads")
    if len(current) <= 1:
        downgrades, down_failed = _run_offline(config_path, "downgrade", heads, current[0] if current else "base")
    else:
        downgrades = {}
        down_failed = {"*": f"the database is at several heads ({', '.join(current)}): Alembic renders a downgrade to one target only"}
    for rev in pending:
        up = upgrades.get(rev)
        down = downgrades.get(rev)
        document["revisions"][rev] = {
            "upgrade": up,
            "upgrade_unavailable": None if up is not None else up_failed.get(rev, up_failed.get("*", missing)),
            "downgrade": down,
            "downgrade_unavailable": None if down is not None else down_failed.get(rev, down_failed.get("*", missing)),
        }
    return document


def _stamp(path: str | None) -> tuple[int, int] | None:
    try:
        found = os.stat(path) if path else None
    except OSError:
        return None
    return (found.st_mtime_ns, found.st_size) if found else None


def serve_once(idle_seconds: float) -> int:
    """Started ahead by the worker (`--serve-once SECONDS`): import what an inspection needs, then
    wait for ONE request on stdin, a JSON line {"argv": [...], "cwd": ..., "env": {...}}, and run it
    exactly as `alembic_inspect.py ARGV` started in CWD with ENV would.

    The interpreter was started with only the environment that shapes its start (PATH, PYTHON*,
    locale); the rest, secrets included, arrives with the request, so an idle process holds none.
    If alembic or this script changed on disk since the imports, the request is run by a fresh
    interpreter (execve, same pid and pipes). Nothing arrives within SECONDS, or stdin closes (the
    worker is gone): exit 0 without output.
    """
    import select

    try:
        import alembic
        import alembic.config  # noqa: F401
        import alembic.runtime.environment  # noqa: F401
        import alembic.runtime.migration  # noqa: F401
        import alembic.operations  # noqa: F401
        import alembic.script  # noqa: F401
        import logging.config  # noqa: F401 - env.py files call fileConfig()

        watched: str | None = alembic.__file__
    except ImportError:
        watched = None
    script = os.path.abspath(__file__)
    stamps = (_stamp(watched), _stamp(script))
    ready, _, _ = select.select([sys.stdin], [], [], idle_seconds)
    line = sys.stdin.readline() if ready else ""
    if not line.strip():
        return 0
    request = json.loads(line)
    argv = [str(arg) for arg in request["argv"]]
    env = {str(key): str(value) for key, value in request["env"].items()}
    os.chdir(str(request["cwd"]))
    if (_stamp(watched), _stamp(script)) != stamps:
        os.execve(sys.executable, [sys.executable, script, *argv], env)
    os.environ.clear()
    os.environ.update(env)
    sys.argv = [script, *argv]
    return main(argv)


def main(argv: list[str]) -> int:
    if argv[:1] == ["--serve-once"]:
        return serve_once(float(argv[1]) if len(argv) > 1 else 600.0)
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", 1)[0])
    parser.add_argument("--config", required=True, help="the backend's alembic.ini")
    parser.add_argument("--current", default="", help="the database's revision set, comma separated (empty: base)")
    parser.add_argument("--sql", action="store_true", help="render the pending revisions' downgrade() offline (readiness)")
    parser.add_argument("--alembic", action="store_true", help="always load the scripts with Alembic (no static read at the head)")
    parser.add_argument("--upgrade-sql", action="store_true", help="then print the pending range's upgrade and downgrade SQL (Alembic offline mode through env.py)")
    args = parser.parse_args(argv)
    out = sys.stdout
    # Revision modules and the application they import may print: only the JSON goes to stdout.
    sys.stdout = sys.stderr
    current = [rev for rev in (part.strip() for part in args.current.split(",")) if rev]
    # At the head already: nothing pending, nothing to render; the scripts' declarations answer.
    static = static_inspection(args.config, current) if current and not args.alembic else None
    if static is not None:
        _emit(out, static)
        if args.upgrade_sql:
            _emit(out, {"format": SQL_FORMAT, "unavailable": None, "revisions": {}})
        return 0
    try:
        import alembic  # noqa: F401
    except ImportError as error:
        _emit(out, {"format": FORMAT, "error": "alembic_not_importable", "detail": _exception_line(error), "python": sys.executable})
        return 3
    try:
        document = inspect_script(args.config, current, args.sql)
    except Exception as error:  # noqa: BLE001 - reported as the document, the caller decides
        traceback.print_exc(file=sys.stderr)
        _emit(out, {"format": FORMAT, "error": "script_unusable", "detail": _exception_line(error)})
        return 4
    _emit(out, document)
    if args.upgrade_sql:
        try:
            review = render_pending_sql(args.config, current, document["pending"])
        except Exception as error:  # noqa: BLE001 - the inspection above stands; the SQL is unavailable
            traceback.print_exc(file=sys.stderr)
            review = {"format": SQL_FORMAT, "unavailable": f"the render failed: {_exception_line(error)}", "revisions": {}}
        _emit(out, review)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
