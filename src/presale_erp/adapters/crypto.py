"""PII at rest: buyer names, phones and street addresses are encrypted (AES-256-GCM) before they are stored,
and a keyed blind index (HMAC-SHA256 of the normalised value) lets rules find "same phone" or "same address"
without decrypting anything."""

from __future__ import annotations

import base64
import hmac
import os
import re
import secrets
from pathlib import Path

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

PREFIX = "v1:"
NONCE_BYTES = 12
NOT_COMPARED = re.compile(r"[\s\-_,.，。()（）#]+")  # spacing and punctuation buyers type differently


def _derive(master: bytes, purpose: bytes) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=b"presale-erp", info=purpose).derive(master)


class PiiCipher:
    def __init__(self, master_key: bytes) -> None:
        if len(master_key) < 32:
            raise ValueError("the PII master key must be at least 32 bytes")
        self._aead = AESGCM(_derive(master_key, b"pii-encryption"))
        self._index_key = _derive(master_key, b"pii-blind-index")

    def encrypt(self, plain: str) -> str:
        if not plain:
            return ""
        nonce = os.urandom(NONCE_BYTES)
        sealed = self._aead.encrypt(nonce, plain.encode(), None)
        return PREFIX + base64.urlsafe_b64encode(nonce + sealed).decode()

    def decrypt(self, stored: str) -> str:
        if not stored:
            return ""
        raw = base64.urlsafe_b64decode(stored.removeprefix(PREFIX))
        return self._aead.decrypt(raw[:NONCE_BYTES], raw[NONCE_BYTES:], None).decode()

    def blind_index(self, plain: str) -> str:
        """Equal for values that differ only in spacing, case or punctuation; "" for an empty value."""
        normalised = NOT_COMPARED.sub("", plain).lower()
        if not normalised:
            return ""
        return hmac.digest(self._index_key, normalised.encode(), "sha256").hex()[:32]


def load_master_key(configured: str | None, data_dir: Path) -> bytes:
    """PRESALE_ERP_SECRET_KEY (url-safe base64 of 32+ bytes) in production; the embedded default keeps a
    generated key in <data dir>/secret.key, readable by its owner only."""
    if configured:
        return base64.urlsafe_b64decode(configured + "=" * (-len(configured) % 4))
    path = data_dir / "secret.key"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(base64.urlsafe_b64encode(secrets.token_bytes(32)).decode())
    return base64.urlsafe_b64decode(path.read_text().strip())


def mask_name(name: str) -> str:
    return name[:1] + "*" * max(len(name) - 1, 1) if name else ""


def mask_phone(phone: str) -> str:
    digits = phone.strip()
    return digits[:3] + "****" + digits[-4:] if len(digits) >= 11 else "*" * len(digits)
