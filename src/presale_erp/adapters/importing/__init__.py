"""Reading order files staff bring in (Excel, CSV)."""
