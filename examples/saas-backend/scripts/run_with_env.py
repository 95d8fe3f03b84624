#!/usr/bin/env python3
"""Run a command with the backend's env files loaded into its environment.

    python3 scripts/run_with_env.py alembic -c alembic.ini upgrade head
    python3 scripts/run_with_env.py --print      # show the resolved variables

Loads, from the backend directory (the parent of scripts/):

  1. .env.compose   committed, non-secret defaults
  2. .env.local     git-ignored operator secrets/overrides (optional)

Precedence, highest first: variables already set in the process environment,
then .env.local, then .env.compose. (So `DATABASE_URL=... run_with_env.py ...`
wins over the files, like docker compose.)

File syntax: KEY=VALUE lines; blank lines and lines starting with # are
ignored; an optional leading `export ` is allowed; values may be wrapped in
'single' quotes (taken literally) or "double" quotes (\\n, \\", \\\\ escapes);
unquoted values end at ` #` (inline comment) and are stripped. In unquoted and
double-quoted values, ${VAR}, ${VAR:-default} and $VAR are expanded after both
files are merged, so a POSTGRES_PASSWORD in .env.local also changes the
DATABASE_URL defined in .env.compose. Unknown variables expand to "" (with a
warning on stderr); $$ is a literal $.

Standard library only. Then execs the command (argv after an optional `--`).
"""

from __future__ import annotations

import os
import re
import sys
from pathlib import Path

BACKEND_DIR = Path(__file__).resolve().parent.parent
ENV_FILES = (".env.compose", ".env.local")
SECRET_HINTS = ("SECRET", "PASSWORD", "TOKEN", "KEY", "DATABASE_URL")

_KEY = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_REF = re.compile(r"\$\$|\$\{([A-Za-z_][A-Za-z0-9_]*)(?::?-([^}]*))?\}|\$([A-Za-z_][A-Za-z0-9_]*)")


class EnvFileError(Exception):
    pass


def parse_env_file(path: Path) -> dict[str, tuple[str, bool]]:
    """Return {KEY: (raw_value, expand)} in file order."""
    result: dict[str, tuple[str, bool]] = {}
    for lineno, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        if stripped.startswith("export "):
            stripped = stripped[len("export ") :].lstrip()
        key, sep, value = stripped.partition("=")
        key = key.strip()
        if not sep or not _KEY.match(key):
            raise EnvFileError(f"{path}:{lineno}: expected KEY=VALUE, got {line!r}")
        value = value.strip()
        expand = True
        if value[:1] == "'":
            end = value.find("'", 1)
            if end < 0:
                raise EnvFileError(f"{path}:{lineno}: unterminated single quote")
            value, expand = value[1:end], False
        elif value[:1] == '"':
            out, i = [], 1
            while i < len(value) and value[i] != '"':
                if value[i] == "\\" and i + 1 < len(value):
                    nxt = value[i + 1]
                    out.append({"n": "\n", "t": "\t", '"': '"', "\\": "\\", "$": "$$"}.get(nxt, "\\" + nxt))
                    i += 2
                else:
                    out.append(value[i])
                    i += 1
            if i >= len(value):
                raise EnvFileError(f"{path}:{lineno}: unterminated double quote")
            value = "".join(out)
        else:
            value = re.split(r"\s+#", value, maxsplit=1)[0].rstrip()
        result[key] = (value, expand)
    return result


def load_env(backend_dir: Path = BACKEND_DIR, base: dict[str, str] | None = None) -> dict[str, str]:
    """Merged environment: base (default os.environ) over .env.local over .env.compose."""
    base = dict(os.environ if base is None else base)
    raw: dict[str, tuple[str, bool]] = {}
    for name in ENV_FILES:
        path = backend_dir / name
        if path.is_file():
            raw.update(parse_env_file(path))

    resolved: dict[str, str] = {}
    in_progress: set[str] = set()

    def lookup(name: str) -> str | None:
        if name in base:
            return base[name]
        if name in resolved:
            return resolved[name]
        if name not in raw:
            return None
        if name in in_progress:
            raise EnvFileError(f"circular reference involving ${{{name}}}")
        in_progress.add(name)
        value, expand = raw[name]
        resolved[name] = expand_refs(value) if expand else value
        in_progress.discard(name)
        return resolved[name]

    def expand_refs(value: str) -> str:
        def sub(m: re.Match[str]) -> str:
            if m.group(0) == "$$":
                return "$"
            name = m.group(1) or m.group(3)
            found = lookup(name)
            if found is None or (found == "" and m.group(2) is not None and ":-" in m.group(0)):
                if m.group(2) is not None:
                    return expand_refs(m.group(2))
                sys.stderr.write(f"run_with_env: warning: ${{{name}}} is not set; using an empty string\n")
                return ""
            return found

        return _REF.sub(sub, value)

    env = dict(base)
    for key in raw:
        if key not in base:
            env[key] = lookup(key) or ""
    return env


def masked(key: str, value: str) -> str:
    if not value or not any(h in key.upper() for h in SECRET_HINTS):
        return value
    if key.upper().endswith("_URL"):
        return re.sub(r"(://[^:/@]*):[^@/]*@", r"\1:***@", value)
    return value[:8] + "***" if len(value) > 12 else "***"


def main(argv: list[str]) -> int:
    if argv and argv[0] in ("-h", "--help"):
        print(__doc__)
        return 0
    try:
        env = load_env()
    except (OSError, EnvFileError) as e:
        sys.stderr.write(f"run_with_env: {e}\n")
        return 2
    if argv and argv[0] == "--print":
        keys = set()
        for name in ENV_FILES:
            path = BACKEND_DIR / name
            if path.is_file():
                keys.update(parse_env_file(path))
        for key in sorted(keys):
            print(f"{key}={masked(key, env.get(key, ''))}")
        return 0
    if argv and argv[0] == "--":
        argv = argv[1:]
    if not argv:
        sys.stderr.write("usage: run_with_env.py [--print | [--] COMMAND [ARGS...]]\n")
        return 2
    try:
        os.execvpe(argv[0], argv, env)
    except OSError as e:
        sys.stderr.write(f"run_with_env: cannot run {argv[0]!r}: {e}\n")
        return 127


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
