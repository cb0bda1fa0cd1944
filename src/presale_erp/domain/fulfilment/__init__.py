"""Fulfilment (发货): allocation to warehouses, split, merge, gifts and carrier choice, pure over a snapshot."""
