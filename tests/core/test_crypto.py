import pytest
from django.test import override_settings

from apps.core import crypto

KEY_A = "a:" + "A" * 43
KEY_B = "b:" + "B" * 43


def test_round_trip_and_key_id_is_stored():
    with override_settings(FIELD_ENCRYPTION_KEYS=KEY_A):
        token = crypto.encrypt("110101199003071234")
        assert token.startswith("v1:a:")
        assert "110101199003071234" not in token
        assert crypto.decrypt(token) == "110101199003071234"


def test_old_key_still_decrypts_after_rotation():
    with override_settings(FIELD_ENCRYPTION_KEYS=KEY_A):
        token = crypto.encrypt("13812345678")
    with override_settings(FIELD_ENCRYPTION_KEYS=f"{KEY_B},{KEY_A}"):
        assert crypto.decrypt(token) == "13812345678"
        assert crypto.encrypt("x").startswith("v1:b:")


def test_tampering_is_detected():
    with override_settings(FIELD_ENCRYPTION_KEYS=KEY_A):
        token = crypto.encrypt("13812345678")
        tampered = token[:-2] + ("A" if token[-2] != "A" else "B") + token[-1]
        with pytest.raises(crypto.DecryptionError):
            crypto.decrypt(tampered)


def test_masks():
    assert crypto.mask_id_number("110101199003071234") == "110101********1234"
    assert crypto.mask_phone("13812345678") == "138****5678"


def test_blind_index_is_keyed_and_normalised():
    assert crypto.blind_index("id", "11010119900307123x") == crypto.blind_index(
        "id", "11010119900307123X "
    )
    with override_settings(BLIND_INDEX_KEY="other"):
        other = crypto.blind_index("id", "11010119900307123X")
    assert other != crypto.blind_index("id", "11010119900307123X")
