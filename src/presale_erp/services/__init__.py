"""Use cases: each loads what it needs, lets the domain decide, and commits in one unit of work."""
