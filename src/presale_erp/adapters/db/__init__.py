"""Persistence on SQLAlchemy 2 Core: tables, engine set-up, repositories and the unit of work."""
