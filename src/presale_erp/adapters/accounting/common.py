"""What every voucher export layout shares: its options and the file it produces."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from presale_erp.domain.vouchers import VoucherLine


@dataclass(frozen=True)
class ExportOptions:
    account_book: str = "001"  # K/3 Cloud 账簿编码 (FAccountBookID)
    voucher_group: str = "PRE001"  # K/3 Cloud 凭证字编码 of 记 (a common default; check the book)
    sender: str = "presale-erp"  # U8 EAI 系统编码 (ufinterface @sender), as registered in U8
    company: str = ""  # U8 voucher_head/company (账套/单位), empty: the default


@dataclass(frozen=True)
class ExportedFile:
    content: bytes
    media_type: str
    filename: str


def auxiliary_text(line: VoucherLine) -> str:
    """K/3's 核算项目 text, `类别---代码---名称`, several joined by `|` (K/3 export convention)."""
    return "|".join(f"{a.label}---{a.code}---{a.name}" for a in line.auxiliary)


def amount_text(amount: Decimal, places: int = 2) -> str:
    return f"{amount:.{places}f}"
