"""Background work on Huey: SQLite storage on the embedded default, Redis in production."""
