"""Kingdee K/3 Cloud (金蝶云·星空) vouchers as WebAPI `GL_VOUCHER` Save payloads (format doc, section 3).

The file is a JSON array; each element is the `data` argument of `Save("GL_VOUCHER", data)`, i.e.
`{"Model": {...}}` with base-data references as `{"FNumber": code}`. Amounts are decimal strings with two places
(never binary floats); K/3 Cloud reads them into its decimal fields. The auxiliary flex fields FFLEX6 (客户) and
FFLEX5 (部门) and the codes PRE001 (记, CNY) and HLTX01_SYS (固定汇率) are the common defaults the doc marks as
unverified: check them against the account book."""

from __future__ import annotations

import json
from typing import Any

from presale_erp.adapters.accounting.common import ExportedFile, ExportOptions, amount_text
from presale_erp.domain.chart_of_accounts import AuxiliaryKind
from presale_erp.domain.vouchers import Voucher, VoucherLine

FORM_ID = "GL_VOUCHER"
FLEX_FIELDS = {AuxiliaryKind.CUSTOMER: "FDETAILID__FFLEX6", AuxiliaryKind.DEPARTMENT: "FDETAILID__FFLEX5"}


def export(vouchers: list[Voucher], name: str, options: ExportOptions) -> ExportedFile:
    payloads = [{"Model": model(v, options)} for v in vouchers]
    content = json.dumps(payloads, ensure_ascii=False, indent=2).encode("utf-8")
    return ExportedFile(content, "application/json", f"{name}-k3cloud.json")


def model(voucher: Voucher, options: ExportOptions) -> dict[str, Any]:
    day = voucher.date.isoformat()
    return {
        "FVOUCHERID": 0,
        "FAccountBookID": {"FNumber": options.account_book},
        "FDate": day,
        "FBUSDATE": day,
        "FYEAR": voucher.year,
        "FPERIOD": voucher.period,
        "FVOUCHERGROUPID": {"FNumber": options.voucher_group},
        "FVOUCHERGROUPNO": str(voucher.number),
        "FATTACHMENTS": voucher.attachments,
        "FISADJUSTVOUCHER": False,
        "FEntity": [_entry(n, line, voucher) for n, line in enumerate(voucher.lines)],
    }


def _entry(entry_no: int, line: VoucherLine, voucher: Voucher) -> dict[str, Any]:
    entry: dict[str, Any] = {
        "FEntryID": 0,  # new lines: K/3 Cloud assigns the ids
        "FEXPLANATION": line.summary,
        "FACCOUNTID": {"FNumber": line.account_code},
        "FCURRENCYID": {"FNumber": "PRE001"},
        "FEXCHANGERATETYPE": {"FNumber": "HLTX01_SYS"},
        "FEXCHANGERATE": 1,
        "FAMOUNTFOR": amount_text(line.amount),
        "FDEBIT": amount_text(line.debit),
        "FCREDIT": amount_text(line.credit),
        "FBUSNO": f"{voucher.source_key}#{voucher.sequence}",
        "FEXPORTENTRYID": entry_no,
    }
    if line.auxiliary:
        entry["FDetailID"] = {FLEX_FIELDS[a.kind]: {"FNumber": a.code} for a in line.auxiliary}
    return entry
