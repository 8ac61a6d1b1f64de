"""wechatpy's real crypto, and the channel's verification, against the official test vectors.

The vectors (wechat-crypto-vectors.json, beside this file) come from Tencent's
WXBizMsgCrypt samples and wechatpy's own tests.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import wechatpy.crypto
from starlette.datastructures import QueryParams
from wechatpy.crypto import PrpCrypto, WeChatCrypto

from bot.channels._wechat_xml import CallbackError, WeChatCallback, signature

VECTORS: dict[str, Any] = json.loads(
    (Path(__file__).parent / "wechat-crypto-vectors.json").read_text(encoding="utf-8")
)


def at(timestamp: str) -> datetime:
    return datetime.fromtimestamp(int(timestamp), UTC)


def test_encrypt_matches_the_official_java_sample() -> None:
    v = VECTORS["A_official_java_sample_fixed_random"]
    prp = PrpCrypto(WeChatCrypto(v["token"], v["encoding_aes_key"], v["appid"]).key)
    prp.get_random_string = lambda: v["random16"]
    for case in v["cases"]:
        assert prp.encrypt(case["plaintext"], v["appid"]).decode() == case["encrypt_b64"]


@pytest.mark.parametrize(
    "name", ["C_official_python_sample_decrypt", "D_official_cpp_sample_decrypt"]
)
def test_the_callback_opens_official_sample_messages(name: str) -> None:
    """A safe-mode POST as WeChat signed it: msg_signature checked, then decrypted."""
    v = VECTORS[name]
    callback = WeChatCallback(v["token"], v["appid"], v["encoding_aes_key"])
    query = QueryParams(
        {
            "signature": signature(v["token"], v["timestamp"], v["nonce"]),
            "timestamp": v["timestamp"],
            "nonce": v["nonce"],
            "encrypt_type": "aes",
            "msg_signature": v["msg_signature"],
        }
    )
    envelope = callback.open(query, v["post_body"].encode(), at(v["timestamp"]))
    assert envelope.encrypted
    assert envelope.fields["MsgType"] == "text"
    assert envelope.fields["FromUserName"].startswith("o")
    if "plaintext" in v:
        assert envelope.xml == v["plaintext"]  # byte-exact, newlines included
        assert envelope.fields["MsgId"] == "6054768590064713728"  # text, never a float


def test_a_changed_ciphertext_fails_the_msg_signature() -> None:
    v = VECTORS["C_official_python_sample_decrypt"]
    callback = WeChatCallback(v["token"], v["appid"], v["encoding_aes_key"])
    query = QueryParams(
        {
            "signature": signature(v["token"], v["timestamp"], v["nonce"]),
            "timestamp": v["timestamp"],
            "nonce": v["nonce"],
            "encrypt_type": "aes",
            "msg_signature": v["msg_signature"],
        }
    )
    tampered = v["post_body"].replace("hyzAe4Oz", "hyzAe4OZ")
    with pytest.raises(CallbackError) as refused:
        callback.open(query, tampered.encode(), at(v["timestamp"]))
    assert refused.value.status == 403


def test_wechatpy_decrypts_and_encrypts_its_own_vectors(monkeypatch: pytest.MonkeyPatch) -> None:
    v = VECTORS["W_wechatpy_tests_test_crypto"]
    crypto = WeChatCrypto(v["token"], v["encoding_aes_key"], v["appid"])
    d = v["decrypt"]
    plain = crypto.decrypt_message(d["post_body"], d["msg_signature"], d["timestamp"], d["nonce"])
    assert "<Content><![CDATA[test]]></Content>" in plain

    e = v["encrypt"]

    class Fixed(PrpCrypto):  # type: ignore[misc]
        def get_random_string(self) -> str:
            return str(e["random16"])

    monkeypatch.setattr(wechatpy.crypto, "PrpCrypto", Fixed)
    envelope = crypto.encrypt_message(e["reply_xml"], e["nonce"], e["timestamp"])
    assert envelope == e["expected_envelope"]


def test_plain_signature_of_the_official_sample() -> None:
    v = VECTORS["plain_signature"]
    assert signature(v["token"], v["timestamp"], v["nonce"]) == v["signature"]
    callback = WeChatCallback(v["token"], "wx0000000000000000")
    query = QueryParams({k: v[k] for k in ("signature", "timestamp", "nonce")})
    assert callback.verify_query(query, at(v["timestamp"])) == (v["timestamp"], v["nonce"])
