"""The OpenAPI document FastAPI generates for the front, committed as openapi.json beside
this file; tests/unit/test_web_openapi.py fails when the two differ.

    python -m services.web.openapi        # rewrite services/web/openapi.json
"""

import json
from pathlib import Path
from typing import Any

from prometheus_client import CollectorRegistry
from sqlalchemy.ext.asyncio import create_async_engine

from services.common.settings import Settings
from services.web.front import web_front

COMMITTED = Path(__file__).with_name("openapi.json")


def generated() -> dict[str, Any]:
    """The document of the whole front, built and never served: no connection is opened (the
    producer starts with the app's lifespan, which never runs here)."""
    engine = create_async_engine("sqlite+aiosqlite:///:memory:")
    app = web_front(Settings(), engine, CollectorRegistry())
    document: dict[str, Any] = app.openapi()
    return document


def text(document: dict[str, Any]) -> str:
    return json.dumps(document, indent=2, ensure_ascii=False, sort_keys=True) + "\n"


def main() -> None:
    COMMITTED.write_text(text(generated()), encoding="utf-8")
    print(f"wrote {COMMITTED}")


if __name__ == "__main__":
    main()
