"""The traders' HTTP API (issue 5): FastAPI on top of `trading.store` and the market plugins.

    from trading.api import create_app
    app = create_app(Repository.from_url(url), SystemClock())

Authentication by API key (``X-API-Key`` or ``Authorization: Bearer``); a key's role
decides what it may call (`trading.api.deps`). Every client mistake is a 4xx whose body
names the field and the value (`trading.api.errors`).
"""

from trading.api.app import create_app

__all__ = ["create_app"]
