"""Built-in country plugins: one module per country, each exposing `RULES`.

Each module is data: versioned `RuleSet`s with sources and confidence marks, taken from
`market-rules-reference.md` (the project's fact sheet). Add a country as its own package
declaring a ``vpp.regulatory`` entry point; see `regulatory.registry`.
"""
