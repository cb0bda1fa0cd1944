"""The import layouts of Kingdee K/3 WISE (Excel), K/3 Cloud (JSON) and Yonyou U8 (XML), read back."""

from __future__ import annotations

import json
from collections import defaultdict
from datetime import date
from decimal import Decimal
from io import BytesIO
from xml.etree import ElementTree as ET

import pytest
from openpyxl import load_workbook

from presale_erp.adapters.accounting import EXPORTERS, ExportOptions
from presale_erp.adapters.accounting.kingdee_k3wise_excel import COLUMNS
from presale_erp.domain.chart_of_accounts import DEFAULT_MAPPING
from presale_erp.domain.vouchers import FactTotal, Voucher, build_summary_vouchers

D = Decimal
DAY = date(2026, 10, 31)
SHOP_NAME = '天猫 <旗舰> & "Tea"'  # characters XML and JSON must escape


def vouchers() -> list[Voucher]:
    def fact(kind, part, amount, channel=""):
        return FactTotal("TM-1", DAY, kind, part, D(amount), 1, channel=channel)

    return build_summary_vouchers(
        [
            fact("deposit", "amount", "100.00", "alipay"),
            fact("full_payment", "amount", "199.50", "wechat"),
            fact("shipment", "revenue", "299.50"),
            fact("shipment", "cost", "120.25"),
            fact("platform_fee", "amount", "-1.80", "alipay"),
        ],
        mapping=DEFAULT_MAPPING,
        shop_names={"TM-1": SHOP_NAME},
        booked={},
        next_numbers={(2026, 10): 5},
        preparer="王会计",
    )


def export(layout: str):
    return EXPORTERS[layout](vouchers(), "vouchers-20261031-20261031", ExportOptions(account_book="002"))


def test_k3wise_has_the_37_columns_in_order_and_one_balanced_row_group_per_voucher():
    file = export("k3wise")
    sheet = load_workbook(BytesIO(file.content)).active
    rows = list(sheet.iter_rows(values_only=True))

    # the header row exactly as the format doc prints it
    assert ",".join(rows[0]) == (
        "凭证日期,会计年度,会计期间,凭证字,凭证号,科目代码,科目名称,币别代码,币别名称,原币金额,借方,贷方,制单,审核,"
        "核准,出纳,经办,结算方式,结算号,凭证摘要,数量,数量单位,单价,参考信息,业务日期,往来业务编号,附件数,序号,"
        "系统模块,业务描述,汇率类型,汇率,分录序号,核算项目,过账,机制凭证,现金流量"
    )
    assert len(COLUMNS) == 37
    records = [dict(zip(rows[0], row, strict=True)) for row in rows[1:]]
    sums: dict[int, list[Decimal]] = defaultdict(lambda: [D(0), D(0)])
    for r in records:
        sums[r["凭证号"]][0] += D(str(r["借方"]))
        sums[r["凭证号"]][1] += D(str(r["贷方"]))
    assert sums == {5: [D("299.50"), D("299.50")], 6: [D("1.80"), D("1.80")], 7: [D("419.75"), D("419.75")]}
    first = records[0]
    assert first["凭证日期"].date() == DAY  # a date cell (openpyxl reads it back as a naive datetime)
    assert (first["会计年度"], first["会计期间"], first["凭证字"], first["制单"]) == (2026, 10, "记", "王会计")
    assert (first["科目代码"], first["科目名称"], first["币别代码"], first["分录序号"]) == (
        "1012.01",
        "其他货币资金-支付宝",
        "RMB",
        0,
    )
    assert records[1]["核算项目"] == f"客户---TM-1---{SHOP_NAME}"
    assert file.filename == "vouchers-20261031-20261031-k3wise.xlsx"
    assert file.media_type == "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def test_k3cloud_is_one_gl_voucher_save_model_per_voucher_with_exact_amounts():
    file = export("k3cloud")
    payloads = json.loads(file.content.decode("utf-8"))

    assert [p["Model"]["FVOUCHERGROUPNO"] for p in payloads] == ["5", "6", "7"]
    model = payloads[0]["Model"]
    assert model["FAccountBookID"] == {"FNumber": "002"}
    assert (model["FDate"], model["FYEAR"], model["FPERIOD"], model["FVOUCHERID"]) == ("2026-10-31", 2026, 10, 0)
    first, second = model["FEntity"][:2]
    assert first["FACCOUNTID"] == {"FNumber": "1012.01"}
    assert (first["FDEBIT"], first["FCREDIT"], first["FAMOUNTFOR"]) == ("100.00", "0.00", "100.00")
    assert second["FDetailID"] == {"FDETAILID__FFLEX6": {"FNumber": "TM-1"}}
    assert second["FEXPLANATION"].endswith(f"{SHOP_NAME} 收定金 支付宝")
    for payload in payloads:
        lines = payload["Model"]["FEntity"]
        assert sum(D(e["FDEBIT"]) for e in lines) == sum(D(e["FCREDIT"]) for e in lines) > 0
    assert file.media_type == "application/json"


def test_u8_is_a_ufinterface_document_in_utf8_with_escaped_text_and_balanced_entries():
    file = export("u8")

    assert file.content.startswith(b'<?xml version="1.0" encoding="utf-8"?>')
    root = ET.fromstring(file.content)
    assert (root.tag, root.get("roottag"), root.get("billtype"), root.get("proc")) == (
        "ufinterface",
        "voucher",
        "gl_voucher",
        "add",
    )
    first = root.find("voucher")
    head = first.find("voucher_head")
    assert [head.findtext(t) for t in ("voucher_type", "fiscal_year", "accounting_period", "voucher_id", "enter")] == [
        "记",
        "2026",
        "10",
        "5",
        "王会计",
    ]
    entries = first.find("voucher_body").findall("entry")
    assert [e.findtext("account_code") for e in entries] == ["101201", "2203", "101202", "2203"]
    assert entries[0].findtext("natural_debit_currency") == "100.0000"
    assert entries[0].findtext("natural_credit_currency") == "0.0000"
    assert entries[0].findtext("abstract").endswith(f"{SHOP_NAME} 收定金 支付宝")
    assert [(i.get("name"), i.text) for i in entries[1].find("auxiliary_accounting")] == [("cust_id", "TM-1")]
    for voucher in root.findall("voucher"):
        lines = voucher.find("voucher_body").findall("entry")
        debit = sum(D(e.findtext("natural_debit_currency")) for e in lines)
        assert debit == sum(D(e.findtext("natural_credit_currency")) for e in lines) > 0
    assert file.filename.endswith("-u8.xml")


@pytest.mark.parametrize("layout", ["k3wise", "k3cloud", "u8"])
def test_no_vouchers_still_make_a_valid_empty_file(layout):
    file = EXPORTERS[layout]([], "empty", ExportOptions())

    assert file.content
