"""Decide what to bid and keep the books: optimiser, bids, exchange, backtests, API, CLI.

The only package that composes the others (regulatory, markets, dispatch).
"""
