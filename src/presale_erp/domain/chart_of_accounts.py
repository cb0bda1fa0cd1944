"""The chart-of-accounts mapping (科目映射): which account each accounting role books to, per shop and channel.

The accounting scheme (domain/vouchers.py) says which *role* is debited and credited for each kind of fact; the
merchant's mapping says which account code and name a role is in their books. A rule may hold for every shop and
channel, for one payment channel, for one shop, or for one shop and one channel; the most specific rule wins
(shop + channel, then shop, then channel, then the catch-all). Every role needs a catch-all rule.

Defaults are the usual codes of 企业会计准则 / 小企业会计准则 (1012 其他货币资金, 2203 预收账款, 6001 主营业务收入,
6401 主营业务成本, 1405 库存商品, 6601 销售费用, 6301 营业外收入); the sub-accounts (1012.01 支付宝 ...) are the
common e-commerce set-up and are meant to be changed to the merchant's own codes.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum

from presale_erp.domain.errors import InvalidRequest


class AccountRole(StrEnum):
    CHANNEL_MONEY = "channel_money"  # 其他货币资金-支付宝/微信...: money held at the payment channel
    DEPOSITS_RECEIVED = "deposits_received"  # 预收账款: buyers' money before the goods are delivered (a liability)
    REVENUE = "revenue"  # 主营业务收入
    SALES_RETURNS = "sales_returns"  # 销售退回与折让 (by default debited to 主营业务收入 itself)
    COST_OF_SALES = "cost_of_sales"  # 主营业务成本
    INVENTORY = "inventory"  # 库存商品
    PLATFORM_FEE = "platform_fee"  # 销售费用-平台服务费
    COMMISSION = "commission"  # 销售费用-佣金
    FORFEITED_DEPOSIT = "forfeited_deposit"  # 营业外收入 (or 其他业务收入): deposits kept when a balance goes unpaid
    ADJUSTMENT = "adjustment"  # the other side of manual money adjustments (by default 预收账款)


class AuxiliaryKind(StrEnum):
    """核算项目 / 辅助核算 a line may carry; in a summary voucher the value is always the shop."""

    CUSTOMER = "customer"  # 客户
    DEPARTMENT = "department"  # 部门


AUXILIARY_LABELS = {AuxiliaryKind.CUSTOMER: "客户", AuxiliaryKind.DEPARTMENT: "部门"}
CHANNELS = ("alipay", "wechat", "douyin", "pinduoduo", "jd", "shopify", "bank")
CHANNEL_LABELS = {
    "alipay": "支付宝",
    "wechat": "微信支付",
    "douyin": "抖音支付",
    "pinduoduo": "拼多多",
    "jd": "京东",
    "shopify": "Shopify",
    "bank": "银行",
}
_CODE = re.compile(r"^[0-9A-Za-z][0-9A-Za-z.\-_]{0,39}$")


@dataclass(frozen=True)
class Account:
    code: str
    name: str


@dataclass(frozen=True)
class MappingRule:
    role: AccountRole
    account: Account
    shop: str = ""  # "" = every shop
    channel: str = ""  # "" = every channel
    auxiliary: tuple[AuxiliaryKind, ...] = ()

    def __post_init__(self) -> None:
        where = f"rule for {self.role.value}" + (f" (shop {self.shop})" if self.shop else "")
        if not _CODE.match(self.account.code):
            raise InvalidRequest(
                f"Account code '{self.account.code}' in the {where} is not a code: use 1-40 letters, digits, "
                "'.', '-' or '_', starting with a letter or digit (e.g. 1012.01)."
            )
        if not self.account.name.strip() or len(self.account.name) > 80:
            raise InvalidRequest(f"The account name in the {where} must be 1-80 characters.")
        if self.channel and self.channel not in CHANNELS:
            raise InvalidRequest(f"Unknown channel '{self.channel}' in the {where}; known: {', '.join(CHANNELS)}.")
        if len(set(self.auxiliary)) != len(self.auxiliary):
            raise InvalidRequest(f"The {where} names an auxiliary item twice.")

    @property
    def key(self) -> tuple[AccountRole, str, str]:
        return (self.role, self.shop, self.channel)


def _rule(role: AccountRole, code: str, name: str, channel: str = "", aux: tuple[AuxiliaryKind, ...] = ()):
    return MappingRule(role, Account(code, name), channel=channel, auxiliary=aux)


DEFAULT_RULES: tuple[MappingRule, ...] = (
    _rule(AccountRole.CHANNEL_MONEY, "1012", "其他货币资金"),
    _rule(AccountRole.CHANNEL_MONEY, "1012.01", "其他货币资金-支付宝", "alipay"),
    _rule(AccountRole.CHANNEL_MONEY, "1012.02", "其他货币资金-微信", "wechat"),
    _rule(AccountRole.CHANNEL_MONEY, "1012.03", "其他货币资金-抖音", "douyin"),
    _rule(AccountRole.CHANNEL_MONEY, "1012.04", "其他货币资金-拼多多", "pinduoduo"),
    _rule(AccountRole.CHANNEL_MONEY, "1012.05", "其他货币资金-京东", "jd"),
    _rule(AccountRole.CHANNEL_MONEY, "1012.06", "其他货币资金-Shopify", "shopify"),
    _rule(AccountRole.CHANNEL_MONEY, "1002", "银行存款", "bank"),
    _rule(AccountRole.DEPOSITS_RECEIVED, "2203", "预收账款", aux=(AuxiliaryKind.CUSTOMER,)),
    _rule(AccountRole.REVENUE, "6001", "主营业务收入"),
    _rule(AccountRole.SALES_RETURNS, "6001", "主营业务收入"),
    _rule(AccountRole.COST_OF_SALES, "6401", "主营业务成本"),
    _rule(AccountRole.INVENTORY, "1405", "库存商品"),
    _rule(AccountRole.PLATFORM_FEE, "6601.01", "销售费用-平台服务费"),
    _rule(AccountRole.COMMISSION, "6601.02", "销售费用-佣金"),
    _rule(AccountRole.FORFEITED_DEPOSIT, "6301", "营业外收入"),
    _rule(AccountRole.ADJUSTMENT, "2203", "预收账款", aux=(AuxiliaryKind.CUSTOMER,)),
)


class ChartMapping:
    """A complete mapping: every role has a catch-all rule; no two rules share role, shop and channel."""

    def __init__(self, rules: Iterable[MappingRule]) -> None:
        self.rules = tuple(sorted(rules, key=lambda r: (r.role.value, r.shop, r.channel)))
        self._by_key: dict[tuple[AccountRole, str, str], MappingRule] = {}
        for rule in self.rules:
            if rule.key in self._by_key:
                raise InvalidRequest(
                    f"Two rules for {rule.role.value}, shop '{rule.shop or '*'}', channel '{rule.channel or '*'}'."
                )
            self._by_key[rule.key] = rule
        missing = [role.value for role in AccountRole if (role, "", "") not in self._by_key]
        if missing:
            raise InvalidRequest(
                "The mapping needs a rule for every shop and channel (shop and channel empty) for: "
                + ", ".join(missing)
                + "."
            )

    def rule_for(self, role: AccountRole, *, shop: str, channel: str = "") -> MappingRule:
        for key in ((role, shop, channel), (role, shop, ""), (role, "", channel), (role, "", "")):
            if key in self._by_key:
                return self._by_key[key]
        raise AssertionError("unreachable: every role has a catch-all rule")


DEFAULT_MAPPING = ChartMapping(DEFAULT_RULES)
