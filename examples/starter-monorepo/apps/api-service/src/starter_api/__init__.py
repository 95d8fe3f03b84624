"""The starter's API service.

Like many real applications, importing the package wires everything up: it loads
settings and registers every model, so anything that imports it (migrations/env.py
included) pays for the whole application. STARTER_IMPORT_DELAY_S (seconds, default 0)
makes that cost visible: the benchmark sets it to 1 to stand for a heavy import.
"""

from __future__ import annotations

import os
import time

_delay = float(os.environ.get("STARTER_IMPORT_DELAY_S", "0") or "0")
if _delay > 0:
    time.sleep(_delay)

from starter_api import models as _models  # noqa: E402,F401  (registers every table on the metadata)
from starter_api.settings import get_settings  # noqa: E402

__all__ = ["get_settings"]
