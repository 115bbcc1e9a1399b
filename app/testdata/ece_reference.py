"""An independent reference for app/src/crypto: RFC 8188's records on Python `cryptography`
(OpenSSL), used to cross-check the vectors in app/src/crypto/tests.rs.

    .tools/venv/bin/python app/testdata/ece_reference.py
"""

import base64
import struct

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF


def b64u(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def unb64u(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def hkdf(ikm: bytes, salt: bytes, info: bytes, length: int) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=length, salt=salt, info=info).derive(ikm)


def keys(ikm: bytes, salt: bytes, key_len: int):
    info = b"Content-Encoding: aes128gcm\0" if key_len == 16 else b"Content-Encoding: aes256gcm\0"
    return hkdf(ikm, salt, info, key_len), hkdf(ikm, salt, b"Content-Encoding: nonce\0", 12)


def nonce(base: bytes, seq: int) -> bytes:
    return (int.from_bytes(base, "big") ^ seq).to_bytes(12, "big")


def records(ikm: bytes, salt: bytes, rs: int, plaintext: bytes, key_len: int) -> bytes:
    """The records alone (no header), each full but the last, no padding."""
    cek, base = keys(ikm, salt, key_len)
    data_len = rs - 17
    chunks = [plaintext[i : i + data_len] for i in range(0, len(plaintext), data_len)] or [b""]
    out = b""
    for seq, chunk in enumerate(chunks):
        delimiter = b"\x02" if seq == len(chunks) - 1 else b"\x01"
        out += AESGCM(cek).encrypt(nonce(base, seq), chunk + delimiter, None)
    return out


def decrypt_message(ikm: bytes, message: bytes, key_len: int):
    salt, rs, idlen = message[:16], struct.unpack(">I", message[16:20])[0], message[20]
    body = message[21 + idlen :]
    cek, base = keys(ikm, salt, key_len)
    return [
        AESGCM(cek).decrypt(nonce(base, seq), body[i : i + rs], None)
        for seq, i in enumerate(range(0, len(body), rs))
    ]


if __name__ == "__main__":
    # RFC 8188 §3.2: how the two records split the text and where the padding is.
    message = unb64u(
        "uNCkWiNYzKTnBN9ji3-qWAAAABkCYTHOG8chz_gnvgOqdGYovxyjuqRyJFjEDyoF"
        "1Fvkj6hQPdPHI51OEUKEpgz3SsLWIqS_uA"
    )
    print("3.2 records:", decrypt_message(unb64u("BO3ZVPxUlnLORbVGMpbT1Q"), message, 16))
    # The AES-256 vector of tests.rs: a 32-byte key 0..31, salt 100..115, rs 64 (47 data
    # bytes a record), 100 bytes 0..99 -> three records.
    ikm = bytes(range(32))
    salt = bytes(range(100, 116))
    cek, base = keys(ikm, salt, 32)
    print("cek:", b64u(cek))
    print("nonce:", b64u(base))
    print("records:", b64u(records(ikm, salt, 64, bytes(range(100)), 32)))
    print("empty:", b64u(records(ikm, salt, 64, b"", 32)))
