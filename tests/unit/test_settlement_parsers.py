"""Platform bills read by column name: the real published samples (tests/data/settlement, see its README) in
the encodings and wrappers the platforms deliver, the documented layout variants, and bad files refused clearly."""

from __future__ import annotations

import contextlib
import gzip
import io
import json
import re
import zipfile
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from presale_erp.adapters.settlement import parse
from presale_erp.domain.errors import InvalidRequest
from presale_erp.domain.statements import LineKind

DATA = Path(__file__).parent.parent / "data" / "settlement"
ALIPAY_ACCOUNT = DATA / "alipay_signcustomer_account_detail_sample.csv"
ALIPAY_TRADE = DATA / "alipay_trade_detail_sample.csv"
WECHAT_TRADE = DATA / "wechatpay_tradebill_all_sample.csv"
WECHAT_FUNDFLOW = DATA / "wechatpay_fundflow_sample.csv"


def gbk(path: Path) -> bytes:
    return path.read_text(encoding="utf-8").encode("gbk")


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def alipay_zip(members: list[tuple[str, bytes]]) -> bytes:
    """A ZIP as Alipay makes it: GBK member names without the UTF-8 flag."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, data in members:
            info = zipfile.ZipInfo(name.encode("gbk").decode("cp437"))
            archive.writestr(info, data)
    return buffer.getvalue()


# --- Alipay 账务明细 -------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("encode", [lambda p: p.read_bytes(), gbk], ids=["utf8", "gbk"])
def test_the_alipay_account_sample_reads_three_payments_with_tabs_stripped_and_beijing_times_in_utc(encode):
    statement = parse(encode(ALIPAY_ACCOUNT), "20888011365400330156_20121229_账务明细.csv")

    assert (statement.format, statement.channel) == ("alipay_account", "alipay")
    assert [(line.external_ref, line.order_ref, line.line_ref, line.amount) for line in statement.lines] == [
        ("2012122923922029", "3226563", "54632446537371", Decimal("2274.00")),
        ("2012122948927762", "3226533", "54629090595411", Decimal("393.00")),
        ("2012122926087002", "3226491", "54628332402591", Decimal("1111.00")),
    ]
    assert {line.kind for line in statement.lines} == {LineKind.PAYMENT}
    assert {line.fee for line in statement.lines} == {Decimal("0.00")}
    assert statement.lines[0].occurred_at == utc("2012-12-29 13:02:06")  # 21:02:06 Beijing
    assert (statement.period_start, statement.period_end) == (utc("2012-12-28 16:00:00"), utc("2012-12-29 16:00:00"))
    assert statement.lines[0].raw["对方账号"] == "*** (***@***)"  # the file's other columns are kept, cleaned


def test_the_detail_member_of_an_alipay_zip_is_chosen_by_its_header_not_its_place():
    summary = "类型,收入笔数,收入金额（+元）,支出笔数,支出金额（-元）,总金额（元）\n在线支付,3,3778.00,0,0.00,3778.00\n"
    content = alipay_zip(
        [
            ("20888011365400330156_20121229_账务明细(汇总).csv", summary.encode("gbk")),
            ("20888011365400330156_20121229_账务明细.csv", gbk(ALIPAY_ACCOUNT)),
        ]
    )

    statement = parse(content, "20888011365400330156_20121229.csv.zip")

    assert statement.format == "alipay_account" and len(statement.lines) == 3


def _reordered(text: str, order: list[int], drop: tuple[str, ...] = ()) -> str:
    out = []
    for line in text.splitlines():
        if line.startswith("#"):
            out.append(line)
            continue
        cells = line.split(",")
        kept = [cells[i] for i in order]
        out.append(",".join(kept))
    header = out[4].split(",")
    keep = [i for i, name in enumerate(header) if name not in drop]
    return "\n".join(line if line.startswith("#") else ",".join(line.split(",")[i] for i in keep) for line in out)


def test_columns_are_read_by_name_whatever_their_order_and_without_optional_ones():
    text = ALIPAY_ACCOUNT.read_text(encoding="utf-8")
    shuffled = _reordered(text, list(reversed(range(12))), drop=("商品名称", "备注", "对方账号"))

    original, moved = parse(text.encode(), "a.csv"), parse(shuffled.encode("gbk"), "b.csv")

    as_tuple = lambda s: [(x.external_ref, x.order_ref, x.amount, x.kind, x.occurred_at) for x in s.lines]  # noqa: E731
    assert as_tuple(moved) == as_tuple(original)


def test_a_missing_required_column_is_refused_by_its_name():
    text = ALIPAY_ACCOUNT.read_text(encoding="utf-8")
    without_income = _reordered(text, list(range(12)), drop=("收入金额（+元）",))

    with pytest.raises(InvalidRequest, match=r"lacks the column\(s\) 收入金额（\+元）"):
        parse(without_income.encode("gbk"), "no-income.csv")


EXTENDED = """#支付宝账务明细查询
#账号：[20885212319120680156]
#起始日期：[2026年11月01日 00:00:00]   终止日期：[2026年11月02日 00:00:00]
#-----------------------------------------账务明细列表----------------------------------------
账务流水号,业务流水号,商户订单号,业务基础订单号,业务订单号,业务账单来源,业务描述,收入金额（+元）,支出金额（-元）,账户余额（元）,发生时间,业务类型,备注
20261101001\t,2026110122001\t,T200P3001\t,\t,\t,淘宝,,199.00,0.00,199.00,2026-11-01 10:00:00,交易付款,
20261101002\t,2026110122002\t,\t,3001\t,\t,淘宝,天猫佣金（类目佣金）,0.00,9.95,189.05,2026-11-01 10:00:05,收费,
20261101003\t,2026110122003\t,\t,3001\t,\t,淘宝,花呗分期手续费,0.00,1.20,187.85,2026-11-01 10:00:06,收费,
20261101004\t,2026110122004\t,T200P3002\t,3002\t,\t,淘宝,,0.00,30.00,157.85,2026-11-01 11:00:00,交易退款,
20261101005\t,2026110122005\t,\t,\t,\t,,,0.00,100.00,57.85,2026-11-01 12:00:00,提现,
#----------------------------------------账务明细列表结束-------------------------------------,,,,,,,,,,,,
#支出合计：4笔，共141.15元,,,,,,,,,,,,
#收入合计：1笔，共199.00元,,,,,,,,,,,,
"""


def test_the_extended_taobao_layout_gives_order_numbers_fees_commissions_refunds_and_withdrawals():
    statement = parse(EXTENDED.encode("gbk"), "taobao.csv")

    assert [(x.kind, x.order_ref, x.amount) for x in statement.lines] == [
        (LineKind.PAYMENT, "3001", Decimal("199.00")),  # T200P<淘宝订单号> gives the order number
        (LineKind.COMMISSION, "3001", Decimal("-9.95")),
        (LineKind.FEE, "3001", Decimal("-1.20")),
        (LineKind.REFUND, "3002", Decimal("-30.00")),  # 业务基础订单号 wins over 商户订单号
        (LineKind.WITHDRAWAL, "", Decimal("-100.00")),
    ]
    assert statement.period_end == utc("2026-11-01 16:00:00")


# --- Alipay 业务明细 -------------------------------------------------------------------------------------------------


def test_the_alipay_trade_sample_reads_two_payments_keyed_by_trade_number():
    statement = parse(gbk(ALIPAY_TRADE), "20885212319120680156_20170831_业务明细.csv")

    assert statement.format == "alipay_trade"
    assert [(x.kind, x.external_ref, x.order_ref, x.amount, x.fee) for x in statement.lines] == [
        (LineKind.PAYMENT, "2017083121001004720299453898", "cd6ece976b514130977cb06048359684", Decimal("20.00"),
         Decimal("0.00")),
        (LineKind.PAYMENT, "2017083121001004900267628590", "02d2e6d6cf524395b8799b5d97d521d6", Decimal("20.00"),
         Decimal("0.00")),
    ]  # fmt: skip
    assert statement.lines[1].occurred_at == utc("2017-08-30 16:06:17")  # 完成时间, Beijing


def test_an_alipay_trade_refund_is_negative_whichever_sign_the_export_wrote_and_keeps_its_fee():
    text = ALIPAY_TRADE.read_text(encoding="utf-8").splitlines()
    header = text[4].split(",")
    row = dict.fromkeys(header, "")
    row |= {"支付宝交易号": "2017083121001004720299453898\t", "商户订单号": "cd6ece976b514130977cb06048359684\t",
            "业务类型": "退款\t", "完成时间": "2017-08-31 09:00:00", "订单金额（元）": "-20.00",
            "退款批次号/请求号": "RF001\t", "服务费（元）": "0.12"}  # fmt: skip
    refund = "\n".join([*text[:7], ",".join(row[h] for h in header), *text[7:]])

    line = parse(refund.encode("gbk"), "refund.csv").lines[-1]

    assert (line.kind, line.amount, line.fee, line.line_ref) == (
        LineKind.REFUND, Decimal("-20.00"), Decimal("0.12"), "2017083121001004720299453898:refund:RF001",
    )  # fmt: skip


# --- WeChat Pay ----------------------------------------------------------------------------------------------------


def test_the_wechat_trade_sample_strips_backquotes_and_skips_the_summary():
    statement = parse(WECHAT_TRADE.read_bytes(), "tradebill_all.csv")

    assert statement.format == "wechat_trade" and len(statement.lines) == 1
    line = statement.lines[0]
    assert (line.kind, line.external_ref, line.order_ref, line.amount, line.fee) == (
        LineKind.PAYMENT, "420000612032130748613220688", "2021WERUN1647840687637", Decimal("0.01"), Decimal("0.00"),
    )  # fmt: skip
    assert line.occurred_at == utc("2022-03-21 05:51:31") and statement.period_start is None


OLD_LAYOUT = (
    "交易时间,公众账号ID,商户号,子商户号,设备号,微信订单号,商户订单号,用户标识,交易类型,交易状态,付款银行,货币种类,总金额,"
    "代金券或立减优惠金额,微信退款单号,商户退款单号,退款金额,代金券或立减优惠退款金额,退款类型,退款状态,商品名称,商户数据包,"
    "手续费,费率\n"
    "`2014-11-10 16:33:45,`wx2421b1c4370ec43b,`10000100,`0,`1000,`1001690740201411100005734289,`1415640626,"
    "`085e9858e3ba5186aafcbaed1,`MICROPAY,`SUCCESS,`OTHERS,`CNY,`0.01,`0.0,`0,`0,`0,`0,`,`,`被扫支付测试,`订单额外描述,`0,"
    "`0.60%\n"
    "`2014-11-11 09:00:00,`wx2421b1c4370ec43b,`10000100,`0,`1000,`1001690740201411100005734289,`1415640626,"
    "`085e9858e3ba5186aafcbaed1,`MICROPAY,`REFUND,`OTHERS,`CNY,`0.01,`0.0,`2001690740201411110000001,`R1415640626,"
    "`0.01,`0,`ORIGINAL,`SUCCESS,`被扫支付测试,`订单额外描述,`-0.00006,`0.60%\n"
    "总交易单数,总交易额,总退款金额,总代金券或立减优惠退款金额,手续费总金额\n`2,`0.01,`0.01,`0,`0\n"
)


def test_the_old_wechat_layout_reads_by_its_own_column_names_and_a_refund_is_keyed_by_its_refund_number():
    payment, refund = parse(OLD_LAYOUT.encode(), "old.csv").lines

    assert (payment.kind, payment.amount, payment.external_ref, payment.order_ref) == (
        LineKind.PAYMENT, Decimal("0.01"), "1001690740201411100005734289", "1415640626",
    )  # fmt: skip
    assert (refund.kind, refund.amount, refund.external_ref, refund.fee) == (
        LineKind.REFUND, Decimal("-0.01"), "2001690740201411110000001", Decimal("0.00"),  # 5-decimal fee, to the fen
    )  # fmt: skip


def test_a_gzipped_wechat_bill_is_read_as_the_csv_inside():
    assert len(parse(gzip.compress(WECHAT_TRADE.read_bytes()), "bill.gz").lines) == 1


def test_the_wechat_fundflow_sample_reads_a_refund_signed_by_its_direction():
    statement = parse(WECHAT_FUNDFLOW.read_bytes(), "fundflow.csv")

    assert statement.format == "wechat_fundflow" and len(statement.lines) == 1
    line = statement.lines[0]
    assert (line.kind, line.amount, line.external_ref, line.order_ref, line.line_ref) == (
        LineKind.REFUND, Decimal("-0.02"), "50000305742018020103387128253", "REF4200000068201801293084726067",
        "1900009231201802015884652186",
    )  # fmt: skip
    assert line.occurred_at == utc("2018-01-31 20:21:23")


# --- Douyin (synthetic rows from the official SDK's field names; no public sample exists) ----------------------------

DOUYIN_ROWS = [
    {"settle_time": "2026-11-01 11:05:56", "request_no": "S1001", "shop_order_id": "6900001", "order_id": "6900001-1",
     "settle_amount": 17960, "trade_type": 0, "platform_service_fee": 1000, "commission": 2000,
     "colonel_service_fee": 40, "good_learn_channel_fee": 0, "total_income": 21000, "total_outcome": 3040},
    {"settle_time": "2026-11-01 12:00:00", "request_no": "S1002", "shop_order_id": "6900002", "order_id": "6900002-1",
     "settle_amount": -5000, "trade_type": 1},
]  # fmt: skip


def test_douyin_amounts_in_fen_become_yuan_and_a_settled_row_splits_into_income_fee_and_commission():
    answer = {"code": 100000, "code_msg": "success", "data": {"data": DOUYIN_ROWS, "is_end": 1}}

    statement = parse(json.dumps(answer).encode(), "settle.json")

    assert [(x.kind, x.amount, x.external_ref, x.order_ref) for x in statement.lines] == [
        (LineKind.PAYMENT, Decimal("210.00"), "S1001", "6900001"),
        (LineKind.FEE, Decimal("-10.00"), "S1001", "6900001"),
        (LineKind.COMMISSION, Decimal("-20.40"), "S1001", "6900001"),
        (LineKind.REFUND, Decimal("-50.00"), "S1002", "6900002"),
    ]
    assert sum(x.amount for x in statement.lines[:3]) == Decimal("179.60")  # = 商家实收 17960 fen


def test_a_douyin_csv_with_chinese_headers_reads_like_the_api():
    csv_text = "结算时间,结算单号,订单号,子订单号,商家实收,结算单类型\n2026-11-01 11:05:56,S1,69001,69001-1,9900,0\n"

    (line,) = parse(csv_text.encode("gb18030"), "douyin.csv").lines

    assert (line.kind, line.amount, line.order_ref) == (LineKind.PAYMENT, Decimal("99.00"), "69001")


def test_a_douyin_amount_that_is_not_whole_fen_is_refused():
    rows = [DOUYIN_ROWS[0] | {"settle_amount": "179.60"}]

    with pytest.raises(InvalidRequest, match=re.escape("settle_amount '179.60' is not a whole number of fen")):
        parse(json.dumps(rows).encode(), "settle.json")


# --- Pinduoduo (synthetic rows under the documented header; no public sample exists) -------------------------------

PDD = """拼多多店铺账务明细查询

起始时间：2026-11-01 00:00:00  终止时间：2026-11-01 23:59:59
----------交易记录明细列表---------
商户订单号,发生时间,收入金额（+元）,支出金额（-元）,账务类型,备注,业务描述
261101-001\t,2026-11-01 10:00:00,59.90,0.00,交易收入,,0010002|交易收入-订单收入
261101-001\t,2026-11-01 10:00:00,0.00,0.36,技术服务费,,0020001|技术服务费
261101-002\t,2026-11-01 15:00:00,0.00,19.90,退款,,0030001|退款-售后退款
#支出合计：2笔，共20.26元
#收入合计：1笔，共59.90元
"""


def test_the_pinduoduo_account_detail_reads_under_its_preamble_in_gb18030():
    statement = parse(PDD.encode("gb18030"), "pdd.csv")

    assert statement.format == "pinduoduo_account"
    assert [(x.kind, x.order_ref, x.amount, x.external_ref) for x in statement.lines] == [
        (LineKind.PAYMENT, "261101-001", Decimal("59.90"), ""),
        (LineKind.FEE, "261101-001", Decimal("-0.36"), ""),
        (LineKind.REFUND, "261101-002", Decimal("-19.90"), ""),
    ]
    assert (statement.period_start, statement.period_end) == (utc("2026-10-31 16:00:00"), utc("2026-11-01 16:00:00"))


def test_pinduoduo_accepts_the_other_spelling_of_the_order_column():
    statement = parse(PDD.replace("商户订单号", "商品订单号").encode("gb18030"), "pdd.csv")

    assert [x.order_ref for x in statement.lines] == ["261101-001", "261101-001", "261101-002"]


# --- Bad files -----------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "is empty"),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "not a text bill"),
        (b"a,b,c\n1,2,3\n", "not a bill this system reads"),
        ("订单号,金额\n1,2\n".encode("utf-16"), "not a text bill"),
        (b"PK\x03\x04garbage", "not a bill"),
        (alipay_zip([("readme.txt", b"hello")]), "holds no bill"),
        (
            "交易时间,微信订单号,商户订单号,交易状态\n`2022-03-21 13:51:31,`42,`o1,`SUCCESS\n".encode(),
            "lacks the column",
        ),
        (b"\x1f\x8b\x08\x00broken", "cannot be unpacked"),
    ],
    ids=["empty", "binary", "unknown-csv", "utf16", "bad-zip", "zip-without-bill", "missing-columns", "bad-gzip"],
)
def test_a_file_that_is_not_a_readable_bill_is_refused_with_the_reason(content, message):
    with pytest.raises(InvalidRequest, match=message):
        parse(content, "upload.bin")


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        (",2274.00,", ",22七4.00,", "line 6: 收入金额（\\+元） '22七4.00' is not an amount"),
        (",2274.00,", ",1e999999,", "line 6: 收入金额（\\+元） '1e999999' is not an amount"),
        ("2012-12-29 21:02:06", "29/12/2012", "line 6: '29/12/2012' is not a time"),
    ],
)
def test_a_bad_value_is_refused_naming_its_line_and_column(old, new, message):
    text = ALIPAY_ACCOUNT.read_text(encoding="utf-8").replace(old, new)

    with pytest.raises(InvalidRequest, match=message):
        parse(text.encode("gbk"), "bad.csv")


def test_a_format_named_by_the_caller_is_checked_against_the_header():
    with pytest.raises(InvalidRequest, match="lacks the column"):
        parse(gbk(ALIPAY_ACCOUNT), "a.csv", format="pinduoduo_account")
    with pytest.raises(InvalidRequest, match="Unknown bill format"):
        parse(gbk(ALIPAY_ACCOUNT), "a.csv", format="jd_settlement")


@settings(max_examples=300)
@given(st.binary(max_size=400) | st.text(max_size=400).map(str.encode))
def test_whatever_bytes_arrive_the_answer_is_a_statement_or_a_clear_refusal(content):
    with contextlib.suppress(InvalidRequest):
        parse(content, "fuzz.bin")


@settings(max_examples=300)
@given(st.sampled_from([ALIPAY_ACCOUNT, ALIPAY_TRADE, WECHAT_TRADE, WECHAT_FUNDFLOW]), st.data())
def test_a_damaged_sample_is_read_or_refused_clearly(path, data):
    content = bytearray(path.read_bytes())
    for _ in range(data.draw(st.integers(1, 5))):
        at = data.draw(st.integers(0, len(content) - 1))
        content[at] = data.draw(st.sampled_from(b',\n\t`#"x9\xff'))
    with contextlib.suppress(InvalidRequest):
        parse(bytes(content), path.name)


@pytest.mark.parametrize(
    ("answer", "message"),
    [
        ('{"code": 100000, "data": {"data": null}}', "holds no list of settlement rows"),
        ('{"data": "x"}', "holds no list of settlement rows"),
        ("[1, 2]", "record 1 is not an object"),
        ('{"code": 50002, "code_msg": "限流"}', "answered code 50002 \\(限流\\)"),
        (
            '[{"settle_time": "2026-11-01 10:00:00"}]',
            "record 1 lacks the field\\(s\\) request_no, shop_order_id, settle_amount, trade_type",
        ),
        ("{oops", "is not valid JSON"),
    ],
)
def test_a_douyin_answer_without_settlement_rows_is_refused_clearly(answer, message):
    with pytest.raises(InvalidRequest, match=message):
        parse(answer.encode(), "settle.json")
