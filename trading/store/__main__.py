"""``python -m trading.store``: run, inspect and write migrations (see `trading.store.migrate`)."""

from trading.store.migrate import main

main()
