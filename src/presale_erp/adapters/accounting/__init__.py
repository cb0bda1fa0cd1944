"""Voucher export layouts for Chinese accounting packages (../shared/formats/accounting_vouchers.md)."""

from __future__ import annotations

from collections.abc import Callable

from presale_erp.adapters.accounting import kingdee_k3cloud_json, kingdee_k3wise_excel, yonyou_u8_xml
from presale_erp.adapters.accounting.common import ExportedFile, ExportOptions
from presale_erp.domain.vouchers import Voucher

Exporter = Callable[[list[Voucher], str, ExportOptions], ExportedFile]
EXPORTERS: dict[str, Exporter] = {
    "k3wise": kingdee_k3wise_excel.export,
    "k3cloud": kingdee_k3cloud_json.export,
    "u8": yonyou_u8_xml.export,
}

__all__ = ["EXPORTERS", "ExportOptions", "ExportedFile", "Exporter"]
