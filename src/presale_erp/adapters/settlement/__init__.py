"""Platform settlement bills (对账单) read into statement lines: `parse(content, file_name)` takes the file as
downloaded (a CSV, Alipay's ZIP, WeChat's gzip stream, Douyin's JSON), finds its format from its header unless told,
and answers a Statement. A file it cannot read is refused with InvalidRequest saying why."""

from __future__ import annotations

import gzip
import io
import zipfile
from collections.abc import Callable

from presale_erp.adapters.settlement import alipay, douyin, pinduoduo, wechat
from presale_erp.adapters.settlement.reader import decode, header_key
from presale_erp.domain.errors import InvalidRequest
from presale_erp.domain.statements import Statement

PARSERS: dict[str, Callable[[str, str], Statement]] = {
    "alipay_account": alipay.parse_account,  # 支付宝账务明细 (signcustomer)
    "alipay_trade": alipay.parse_trade,  # 支付宝业务明细 (trade)
    "wechat_trade": wechat.parse_trade,  # 微信支付交易账单
    "wechat_fundflow": wechat.parse_fundflow,  # 微信支付资金账单
    "douyin_settlement": douyin.parse,  # 抖店结算明细 (fen)
    "pinduoduo_account": pinduoduo.parse,  # 拼多多店铺账务明细
}
FORMAT_NAMES_ZH = {
    "alipay_account": "支付宝账务明细",
    "alipay_trade": "支付宝业务明细",
    "wechat_trade": "微信支付交易账单",
    "wechat_fundflow": "微信支付资金账单",
    "douyin_settlement": "抖店结算明细",
    "pinduoduo_account": "拼多多账务明细",
}
# A header cell only one format has: how a file says what it is.
_SIGNATURES = (
    ("alipay_account", "账务流水号"),
    ("alipay_trade", "支付宝交易号"),
    ("wechat_trade", "微信订单号"),
    ("wechat_fundflow", "资金流水单号"),
    ("pinduoduo_account", "账务类型"),
    ("douyin_settlement", "settle_amount"),
    ("douyin_settlement", "结算单号"),
)
MAX_ZIP_MEMBER_BYTES = 200 * 1024 * 1024


def parse(content: bytes, file_name: str, format: str | None = None) -> Statement:
    if format is not None and format not in PARSERS:
        raise InvalidRequest(f"Unknown bill format '{format}'; known: {', '.join(PARSERS)}.")
    if content[:2] == b"\x1f\x8b":  # WeChat's tar_type=GZIP answer
        content = _gunzip(content, file_name)
    if zipfile.is_zipfile(io.BytesIO(content)):
        text, file_name = _from_zip(content, file_name, format)
    else:
        text = decode(content, file_name)
    chosen = format or detect(text)
    if chosen is None:
        raise InvalidRequest(
            f"{file_name} is not a bill this system reads: expected one of {', '.join(FORMAT_NAMES_ZH.values())}."
        )
    return PARSERS[chosen](text, file_name)


def detect(text: str) -> str | None:
    """The format whose signature column is in a header cell of the first lines, or None."""
    if text.lstrip().startswith(("{", "[")):
        return "douyin_settlement"
    cells = {header_key(cell) for line in text.splitlines()[:60] for cell in line.split(",")}
    return next((fmt for fmt, signature in _SIGNATURES if signature in cells), None)


def _gunzip(content: bytes, file_name: str) -> bytes:
    try:
        return gzip.decompress(content)
    except (OSError, EOFError) as exc:
        raise InvalidRequest(f"{file_name} looks gzipped but cannot be unpacked: {exc}.") from None


def _from_zip(content: bytes, file_name: str, format: str | None) -> tuple[str, str]:
    """The detail member of a bill ZIP, chosen by what it holds (its header), never by its place: Alipay's ZIP
    also holds a summary (…(汇总).csv), and the order of the two is not fixed."""
    try:
        archive = zipfile.ZipFile(io.BytesIO(content))
        members = [m for m in archive.infolist() if not m.is_dir()]
    except zipfile.BadZipFile as exc:
        raise InvalidRequest(f"{file_name} is a damaged ZIP: {exc}.") from None
    names = [_member_name(m) for m in members]
    # Detail members first, summaries last: a summary never has a detail header, but it is cheap to skip.
    for member, name in sorted(zip(members, names, strict=True), key=lambda pair: "汇总" in pair[1]):
        if member.file_size > MAX_ZIP_MEMBER_BYTES:
            raise InvalidRequest(f"{file_name}: member {name} is over {MAX_ZIP_MEMBER_BYTES // 2**20} MiB.")
        text = decode(archive.read(member), f"{file_name}/{name}")
        found = detect(text)
        if found is not None and (format is None or found == format):
            return text, f"{file_name}/{name}"
    raise InvalidRequest(f"{file_name} holds no bill this system reads (members: {', '.join(names) or 'none'}).")


def _member_name(member: zipfile.ZipInfo) -> str:
    """Alipay writes member names in GBK without the ZIP's UTF-8 flag; Python reads such names as cp437."""
    if member.flag_bits & 0x800:
        return member.filename
    try:
        return member.filename.encode("cp437").decode("gb18030")
    except (UnicodeEncodeError, UnicodeDecodeError):
        return member.filename
