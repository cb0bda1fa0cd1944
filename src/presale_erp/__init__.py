"""presale-erp: an ERP for e-commerce merchants who sell on presale (预售)."""

__version__ = "0.1.0"
