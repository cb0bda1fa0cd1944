"""Kingdee K/3 WISE (and KIS 专业版/旗舰版) 凭证引入 Excel: one row per entry line, the voucher header repeated on
every row, 37 columns in the order and with the header texts of the format doc (section 1)."""

from __future__ import annotations

from io import BytesIO
from typing import Any

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell

from presale_erp.adapters.accounting.common import ExportedFile, ExportOptions, auxiliary_text
from presale_erp.domain.vouchers import BUSINESS_LABELS, Voucher, VoucherLine

MEDIA_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
COLUMNS = [
    "凭证日期", "会计年度", "会计期间", "凭证字", "凭证号", "科目代码", "科目名称", "币别代码", "币别名称",
    "原币金额", "借方", "贷方", "制单", "审核", "核准", "出纳", "经办", "结算方式", "结算号", "凭证摘要", "数量",
    "数量单位", "单价", "参考信息", "业务日期", "往来业务编号", "附件数", "序号", "系统模块", "业务描述",
    "汇率类型", "汇率", "分录序号", "核算项目", "过账", "机制凭证", "现金流量",
]  # fmt: skip
_FORMATS = {"凭证日期": "yyyy-mm-dd", "业务日期": "yyyy-mm-dd", "原币金额": "0.00", "借方": "0.00", "贷方": "0.00"}


def export(vouchers: list[Voucher], name: str, options: ExportOptions) -> ExportedFile:
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet("凭证")
    sheet.append(COLUMNS)
    for serial, voucher in enumerate(vouchers, start=1):
        for entry_no, line in enumerate(voucher.lines):
            sheet.append(_row(sheet, voucher, line, entry_no, serial))
    buffer = BytesIO()
    workbook.save(buffer)
    return ExportedFile(buffer.getvalue(), MEDIA_TYPE, f"{name}-k3wise.xlsx")


def _row(sheet: Any, voucher: Voucher, line: VoucherLine, entry_no: int, serial: int) -> list[object]:
    values: dict[str, object] = {
        "凭证日期": voucher.date,
        "会计年度": voucher.year,
        "会计期间": voucher.period,
        "凭证字": voucher.word,
        "凭证号": voucher.number,
        "科目代码": line.account_code,
        "科目名称": line.account_name,
        "币别代码": "RMB",
        "币别名称": "人民币",
        "原币金额": line.amount,
        "借方": line.debit,
        "贷方": line.credit,
        "制单": voucher.preparer,
        "凭证摘要": line.summary,
        "参考信息": f"{voucher.source_key}#{voucher.sequence}",
        "业务日期": voucher.date,
        "附件数": voucher.attachments,
        "序号": serial,
        "业务描述": BUSINESS_LABELS[voucher.business_type],
        "汇率类型": "公司汇率",
        "汇率": 1,
        "分录序号": entry_no,
        "核算项目": auxiliary_text(line),
        "过账": 0,
        "机制凭证": 0,
    }
    return [_cell(sheet, column, values.get(column, "")) for column in COLUMNS]


def _cell(sheet: Any, column: str, value: object) -> object:
    """Dates and amounts as typed cells with a display format; the rest as they are."""
    if column in _FORMATS:
        cell = WriteOnlyCell(sheet, value=value)
        cell.number_format = _FORMATS[column]
        return cell
    return value
