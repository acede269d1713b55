"""The kiosk's Ed25519 key: made on first start, kept in the data folder, never sent anywhere.

The private key is a PKCS#8 PEM file readable by the kiosk's user only (mode 0600), written whole or not
at all. The public key goes out in every status (`key`); an admin pins its fingerprint when confirming the
kiosk (`ceval kiosk key` prints it on the Pi). A replaced SD card makes a new key, which the server will not
take until an admin pins it.
"""
from __future__ import annotations

import base64
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from shared.signing import fingerprint, signed_bytes

KEY_FILE = "signing.key"


class SigningKey:
    def __init__(self, private: Ed25519PrivateKey):
        self._private = private
        raw = private.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
        self.public_key = base64.b64encode(raw).decode()
        self.fingerprint = fingerprint(self.public_key)

    @classmethod
    def load_or_create(cls, data_dir: str | Path) -> SigningKey:
        path = Path(data_dir) / KEY_FILE
        if path.exists():
            private = serialization.load_pem_private_key(path.read_bytes(), password=None)
            if not isinstance(private, Ed25519PrivateKey):
                raise ValueError(f"{path} holds no Ed25519 key")
            return cls(private)
        private = Ed25519PrivateKey.generate()
        pem = private.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                    serialization.NoEncryption())
        path.parent.mkdir(parents=True, exist_ok=True)
        partial = path.with_suffix(".partial")
        fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        try:
            os.write(fd, pem)
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(partial, path)
        return cls(private)

    def sign(self, fields: Mapping[str, Any]) -> str:
        """The event's `sig`: base64 of the Ed25519 signature over every field but `sig`."""
        return base64.b64encode(self._private.sign(signed_bytes(fields))).decode()
