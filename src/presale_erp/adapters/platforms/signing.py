"""Request signing as each platform's open API does it (../shared/formats/platform_orders.md, per platform
section "Signing"). The simulators verify with the same functions, so a mistake here fails the tests."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from typing import Any


def _concat(params: dict[str, Any]) -> str:
    return "".join(f"{key}{params[key]}" for key in sorted(params) if key != "sign" and params[key] is not None)


def top_sign(params: dict[str, Any], secret: str) -> str:
    """Taobao TOP: sorted k1v1k2v2…; md5 = MD5(secret+s+secret), hmac = HMAC-MD5, hmac-sha256; hex upper."""
    s = _concat(params)
    method = params.get("sign_method", "md5")
    if method == "md5":
        digest = hashlib.md5((secret + s + secret).encode()).hexdigest()
    elif method == "hmac":
        digest = hmac.new(secret.encode(), s.encode(), hashlib.md5).hexdigest()
    elif method == "hmac-sha256":
        digest = hmac.new(secret.encode(), s.encode(), hashlib.sha256).hexdigest()
    else:
        raise ValueError(f"unknown sign_method {method!r}")
    return digest.upper()


def md5_wrapped_sign(params: dict[str, Any], secret: str) -> str:
    """JD (JOS) and Pinduoduo: sorted k+v concatenated, MD5(secret + s + secret), hex upper."""
    return hashlib.md5((secret + _concat(params) + secret).encode()).hexdigest().upper()


def douyin_param_json(business: dict[str, Any]) -> str:
    """param_json with keys sorted, no HTML escaping, no extra spaces."""
    return json.dumps(business, sort_keys=True, ensure_ascii=False, separators=(",", ":"))


def douyin_sign(app_key: str, method: str, param_json: str, timestamp: str, secret: str) -> str:
    s = f"{secret}app_key{app_key}method{method}param_json{param_json}timestamp{timestamp}v2{secret}"
    return hmac.new(secret.encode(), s.encode(), hashlib.sha256).hexdigest()


def shopify_webhook_hmac(body: bytes, secret: str) -> str:
    return base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha256).digest()).decode()


def same(a: str, b: str) -> bool:
    return hmac.compare_digest(a.encode(), b.encode())
