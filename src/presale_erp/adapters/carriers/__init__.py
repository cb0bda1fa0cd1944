"""Carrier adapters (快递): electronic waybills and traces through a carrier API or aggregator, mapped to the
shapes in presale_erp.domain.shipping."""
