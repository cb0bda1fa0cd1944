"""Yonyou U8 EAI voucher XML (`<ufinterface roottag="voucher" billtype="gl_voucher" ...>`, format doc section 5),
UTF-8 as the doc's declaration says, built with ElementTree (which escapes &, <, > and quotes).

Account codes lose their level dots (1012.01 -> 101201): U8 codes are plain digits by its 科目编码规则. Amounts
have four decimals as in the doc's examples, the other side 0.0000; 原币 equals 本币 (RMB)."""

from __future__ import annotations

from xml.etree import ElementTree as ET

from presale_erp.adapters.accounting.common import ExportedFile, ExportOptions, amount_text
from presale_erp.domain.chart_of_accounts import AuxiliaryKind
from presale_erp.domain.vouchers import BUSINESS_LABELS, Voucher, VoucherLine

MEDIA_TYPE = "application/xml"
ENCODING = "utf-8"
AUXILIARY_ITEMS = {AuxiliaryKind.CUSTOMER: "cust_id", AuxiliaryKind.DEPARTMENT: "dept_id"}


def export(vouchers: list[Voucher], name: str, options: ExportOptions) -> ExportedFile:
    root = ET.Element(
        "ufinterface",
        {
            "roottag": "voucher",
            "billtype": "gl_voucher",
            "subtype": "",
            "replace": "Y",
            "receiver": "u8",
            "sender": options.sender,
            "proc": "add",
        },
    )
    for voucher in vouchers:
        _voucher(root, voucher, options)
    ET.indent(root)
    body = ET.tostring(root, encoding="unicode")
    content = f'<?xml version="1.0" encoding="{ENCODING}"?>\n{body}\n'.encode(ENCODING)
    return ExportedFile(content, f"{MEDIA_TYPE}; charset={ENCODING}", f"{name}-u8.xml")


def u8_code(code: str) -> str:
    return code.replace(".", "")


def _text(parent: ET.Element, tag: str, value: object = "") -> ET.Element:
    element = ET.SubElement(parent, tag)
    element.text = str(value)
    return element


def _voucher(root: ET.Element, voucher: Voucher, options: ExportOptions) -> None:
    element = ET.SubElement(root, "voucher", {"id": f"{voucher.source_key}#{voucher.sequence}"})
    head = ET.SubElement(element, "voucher_head")
    for tag, value in (
        ("company", options.company),
        ("voucher_type", voucher.word),
        ("fiscal_year", voucher.year),
        ("accounting_period", voucher.period),
        ("voucher_id", voucher.number),
        ("attachment_number", voucher.attachments),
        ("date", voucher.date.isoformat()),
        ("enter", voucher.preparer),
        ("cashier", ""),
        ("signature", "N"),
        ("checker", ""),
        ("posting_date", ""),
        ("posting_person", ""),
        ("voucher_making_system", options.sender),
        ("memo1", BUSINESS_LABELS[voucher.business_type]),
        ("memo2", f"{voucher.source_key}#{voucher.sequence}"),
        ("reserve1", ""),
        ("reserve2", ""),
        ("revokeflag", ""),
    ):
        _text(head, tag, value)
    body = ET.SubElement(element, "voucher_body")
    for entry_no, line in enumerate(voucher.lines, start=1):
        _entry(body, entry_no, line)


def _entry(body: ET.Element, entry_no: int, line: VoucherLine) -> None:
    entry = ET.SubElement(body, "entry")
    debit, credit = amount_text(line.debit, 4), amount_text(line.credit, 4)
    for tag, value in (
        ("entry_id", entry_no),
        ("account_code", u8_code(line.account_code)),
        ("abstract", line.summary),
        ("settlement", ""),
        ("document_id", ""),
        ("document_date", ""),
        ("currency", "人民币"),
        ("unit_price", ""),
        ("exchange_rate1", ""),
        ("exchange_rate2", "1"),
        ("debit_quantity", ""),
        ("primary_debit_amount", debit),
        ("secondary_debit_amount", ""),
        ("natural_debit_currency", debit),
        ("credit_quantity", ""),
        ("primary_credit_amount", credit),
        ("secondary_credit_amount", ""),
        ("natural_credit_currency", credit),
        ("bill_type", ""),
        ("bill_id", ""),
        ("bill_date", ""),
    ):
        _text(entry, tag, value)
    auxiliary = ET.SubElement(entry, "auxiliary_accounting")
    for item in line.auxiliary:
        ET.SubElement(auxiliary, "item", {"name": AUXILIARY_ITEMS[item.kind]}).text = item.code
