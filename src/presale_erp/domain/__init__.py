"""Pure business rules: no database, no web, no clock, no I/O. Time and ids are passed in."""
