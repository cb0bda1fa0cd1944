"""Bills in the platforms' real formats, built from the published samples' headers (tests/data/settlement), and
orders for them through the real intake: for the reconciliation tests."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

from presale_erp.domain.access import SYSTEM
from presale_erp.services import intake
from presale_erp.simulators import payloads
from presale_erp.simulators.payloads import SimLine, sample
from tests import finance_builders as fb

SAMPLES = Path(__file__).parent / "data" / "settlement"
BEIJING = timedelta(hours=8)
DAY_START = datetime(2026, 10, 30, 16, 0, tzinfo=UTC)  # 2026-10-31 00:00 Beijing: the bill's day
OPENED = DAY_START + timedelta(hours=10)  # orders of the day are placed from 10:00 Beijing
D = Decimal


def push(
    db, order_id: str, *, presale: str = "none", shop: str = "TM-1", at: datetime = OPENED, platform: str = "taobao"
) -> None:
    """A spot order paid at `at` (+1 min), or a deposit presale whose deposit is paid then and balance 3 h later,
    as the platform's payload (payloads.taobao or payloads.douyin)."""
    stages = [("deposit", at + timedelta(minutes=2)), ("paid", at + timedelta(hours=3))] if presale == "deposit" else [
        ("paid", at + timedelta(minutes=5))
    ]  # fmt: skip
    for stage, modified in stages:
        order = sample(order_id, stage=stage, presale=presale, lines=[SimLine(fb.TEA, 2, D("99.50"))], created=at,
                       modified=modified, deposit=D("50.00") if presale == "deposit" else D("0.00"))  # fmt: skip
        intake.intake(db, fb.CIPHER, SYSTEM, shop, [getattr(payloads, platform)(order)], source="fetch", now=modified)


def alipay_account_bill(rows: list[tuple[str, str, str, datetime, str, str]]) -> bytes:
    """An Alipay 账务明细 in GBK as the portal exports it: the sample's preamble style, its exact header line, ID
    fields padded with a trailing tab, income and expense unsigned, a footer with totals. Rows: (业务流水号,
    商户订单号, 商品名称, time, signed amount, 业务类型 + '|' + 备注). A row's 账务流水号 is Alipay's own and stable:
    here the trade number and the direction."""
    header = SAMPLES.joinpath("alipay_signcustomer_account_detail_sample.csv").read_text("utf-8").splitlines()[4]
    lines = [
        "#支付宝账务明细查询",
        "#账号：[20885212319120680156]",
        "#起始日期：[2026年10月31日 00:00:00]   终止日期：[2026年11月01日 00:00:00]",
        "#-----------------------------------------账务明细列表----------------------------------------",
        header,
    ]
    balance, income, expense = D("1000.00"), D("0.00"), D("0.00")
    for trade_no, merchant_no, item, at, amount, kind in rows:
        value = D(amount)
        balance += value
        income, expense = income + max(value, D(0)), expense - min(value, D(0))
        business, remark = kind.split("|") if "|" in kind else (kind, "")
        local = (at + BEIJING).strftime("%Y-%m-%d %H:%M:%S")
        lines.append(
            f"{trade_no}{1 if value > 0 else 2}\t,{trade_no}\t,{merchant_no}\t,{item}\t,{local},*** (***)\t,"
            f"{max(value, D(0)):.2f},{-min(value, D(0)):.2f},{balance:.2f},支付宝,{business},{remark}"
        )
    lines += [
        "#----------------------------------------账务明细列表结束-------------------------------------",
        f"#支出合计：{sum(1 for r in rows if D(r[4]) < 0)}笔，共{expense:.2f}元",
        f"#收入合计：{sum(1 for r in rows if D(r[4]) > 0)}笔，共{income:.2f}元",
        "#导出时间：[2026年11月01日 10:19:01]",
    ]
    return "\r\n".join(lines).encode("gbk")


def wechat_trade_bill(rows: list[dict[str, str]]) -> bytes:
    """A WeChat Pay ALL trade bill: the sample's header, every value backquoted, summary header and row last."""
    text = SAMPLES.joinpath("wechatpay_tradebill_all_sample.csv").read_text("utf-8").splitlines()
    header = text[0].split(",")
    body = []
    for row in rows:
        values = dict.fromkeys(header, "") | {"公众账号ID": "wxfdc955f7104ad557", "商户号": "180023671",
                                              "特约商户号": "0", "交易类型": "JSAPI", "付款银行": "OTHERS",
                                              "货币种类": "CNY", "费率": "0.60%"} | row  # fmt: skip
        body.append(",".join(f"`{values[h]}" for h in header))
    paid = sum(D(r["应结订单金额"]) for r in rows if r["交易状态"] == "SUCCESS")
    refunded = sum(D(r.get("退款金额", "0")) for r in rows)
    summary = f"`{len(rows)},`{paid:.2f},`{refunded:.2f},`0.00,`0.00000,`{paid:.2f},`{refunded:.2f}"
    return "\r\n".join([text[0], *body, text[2], summary]).encode("utf-8")


def wx(status: str, at: datetime, transaction: str, order: str, amount: str, fee: str, **refund: str) -> dict:
    return {"交易时间": (at + BEIJING).strftime("%Y-%m-%d %H:%M:%S"), "微信订单号": transaction, "商户订单号": order,
            "交易状态": status, "应结订单金额": amount, "订单金额": amount, "手续费": fee, **refund}  # fmt: skip
