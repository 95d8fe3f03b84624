"""The backend's own Stripe setup command: one product and one monthly price per plan.

    python scripts/setup_stripe.py            # prints the STRIPE_PRODUCT_PRICE_MAP line
    python scripts/setup_stripe.py --write    # and writes it into .env.local

Products and prices carry the metadata key `starter_console_plan_code` (this command was the
"starter CLI" before, and objects it made then carry `starter_cli_plan_code`). Existing products
with either key are reused. Plans come from billing_plans' seed (see 0003_billing_plans);
STRIPE_SECRET_KEY and, for a local peer, STRIPE_API_BASE come from the environment.
Standard library only, so it runs in any venv.
"""

from __future__ import annotations

import json
import os
import re
import sys
import urllib.parse
import urllib.request
from pathlib import Path

PLAN_CODE_KEY = "starter_console_plan_code"
LEGACY_PLAN_CODE_KEYS = ("starter_cli_plan_code",)
PLANS = (("starter", "Starter", 1500), ("pro", "Pro", 4900), ("enterprise", "Enterprise", 19900))
ENV_LOCAL = Path(__file__).resolve().parents[1] / ".env.local"


def _request(method: str, path: str, params: dict[str, str] | None = None) -> dict:
    base = os.environ.get("STRIPE_API_BASE", "https://api.stripe.com").rstrip("/")
    key = os.environ.get("STRIPE_SECRET_KEY", "")
    if not key:
        sys.exit("STRIPE_SECRET_KEY is not set")
    data = urllib.parse.urlencode(params or {}).encode() if method == "POST" else None
    url = f"{base}{path}" + ("" if method == "POST" or not params else "?" + urllib.parse.urlencode(params))
    req = urllib.request.Request(url, data=data, method=method, headers={"Authorization": f"Bearer {key}"})
    with urllib.request.urlopen(req, timeout=30) as response:
        return json.load(response)


def _plan_code(metadata: dict[str, str]) -> str | None:
    for key in (PLAN_CODE_KEY, *LEGACY_PLAN_CODE_KEYS):
        if metadata.get(key):
            return metadata[key]
    return None


def main() -> None:
    products = _request("GET", "/v1/products", {"limit": "100", "active": "true"})["data"]
    price_map: dict[str, str] = {}
    for code, name, amount in PLANS:
        product = next((p for p in products if _plan_code(p.get("metadata") or {}) == code), None)
        if product is None:
            product = _request("POST", "/v1/products", {"name": name, f"metadata[{PLAN_CODE_KEY}]": code})
        prices = _request("GET", "/v1/prices", {"product": product["id"], "active": "true", "limit": "100"})["data"]
        price = next(
            (
                p
                for p in prices
                if p.get("unit_amount") == amount
                and p.get("currency") == "usd"
                and (p.get("recurring") or {}).get("interval") == "month"
            ),
            None,
        )
        if price is None:
            price = _request(
                "POST",
                "/v1/prices",
                {
                    "product": product["id"],
                    "unit_amount": str(amount),
                    "currency": "usd",
                    "recurring[interval]": "month",
                    f"metadata[{PLAN_CODE_KEY}]": code,
                },
            )
        price_map[code] = price["id"]
    line = "STRIPE_PRODUCT_PRICE_MAP=" + json.dumps(price_map, separators=(",", ":"))
    print(line)
    if "--write" in sys.argv[1:]:
        text = ENV_LOCAL.read_text() if ENV_LOCAL.exists() else ""
        if re.search(r"^STRIPE_PRODUCT_PRICE_MAP=.*$", text, flags=re.M):
            text = re.sub(r"^STRIPE_PRODUCT_PRICE_MAP=.*$", line, text, flags=re.M)
        else:
            text = text + ("" if text.endswith("\n") or not text else "\n") + line + "\n"
        ENV_LOCAL.write_text(text)


if __name__ == "__main__":
    main()
