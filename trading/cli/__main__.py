"""``python -m trading.cli``: the same as the ``vpp`` command."""

from trading.cli import main

main()
