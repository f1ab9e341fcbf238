"""Our tool key pair: it signs deep-linking responses and client-credentials assertions; platforms
fetch the public half from /lti/jwks.json.

The private key comes from MEDTUTOR_LTI_PRIVATE_KEY (PEM) when set, else it is generated once into
var/lti_private_key.pem, readable by its owner only. It never appears in a page or a log line.
"""

from __future__ import annotations

import base64
import hashlib
import os
from functools import lru_cache
from pathlib import Path

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from django.conf import settings

ENV_VAR = "MEDTUTOR_LTI_PRIVATE_KEY"


def _key_path() -> Path:
    return Path(settings.VAR_DIR) / "lti_private_key.pem"


def _generate_into(path: Path) -> bytes:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                            serialization.NoEncryption())
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        # O_EXCL: two processes starting at once must not each write a different key.
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return path.read_bytes()
    with os.fdopen(fd, "wb") as handle:
        handle.write(pem)
    return pem


@lru_cache(maxsize=4)
def _load(pem: bytes) -> rsa.RSAPrivateKey:
    key = serialization.load_pem_private_key(pem, password=None)
    if not isinstance(key, rsa.RSAPrivateKey):
        raise ValueError(f"{ENV_VAR} must be an RSA private key (LTI 1.3 signs with RS256)")
    return key


def private_key() -> rsa.RSAPrivateKey:
    pem = os.environ.get(ENV_VAR, "").strip()
    if pem:
        return _load(pem.encode())
    path = _key_path()
    return _load(path.read_bytes() if path.exists() else _generate_into(path))


def key_id(key: rsa.RSAPrivateKey | None = None) -> str:
    """A stable kid: the SHA-256 of the public key, so a rotated key gets a new id."""
    public = (key or private_key()).public_key().public_bytes(serialization.Encoding.DER,
                                                             serialization.PublicFormat.SubjectPublicKeyInfo)
    return base64.urlsafe_b64encode(hashlib.sha256(public).digest()[:16]).rstrip(b"=").decode()


def jwks() -> dict:
    key = private_key()
    public = jwt.algorithms.RSAAlgorithm.to_jwk(key.public_key(), as_dict=True)
    return {"keys": [public | {"kid": key_id(key), "alg": "RS256", "use": "sig"}]}


def sign(claims: dict) -> str:
    key = private_key()
    return jwt.encode(claims, key, algorithm="RS256", headers={"kid": key_id(key)})
