"""The store's operations on an open session, one module per area.

Each function works inside the caller's transaction and never commits;
`trading.store.repository.Repository` gives each call its own transaction.
"""
