"""The edge: database, queue and (later) platform, carrier and accounting adapters."""
