"""Compliance: the evidence a decision keeps, and the auditor's export.

`evidence` says which plugin distribution and which rules judged a bid (or which rule set
treated an asset); `export` writes the rules, the audit log and every bid decision of a
period to files with a manifest of SHA-256 hashes, and verifies such a folder.
"""
