"""The identifiers' character rules hold alike in polars (the export) and in Python (the validator)."""

from __future__ import annotations

import re
import sys
import unicodedata

import polars as pl

from cers_core.cers_csv.checks import is_email, ssid_problem
from cers_core.identifiers import ssids, teacher_login
from cers_core.wording import INVISIBLE

INVISIBLE_CHARACTERS = [chr(code) for code in range(sys.maxunicode + 1) if re.fullmatch(INVISIBLE, chr(code))]


def test_the_invisible_characters_are_unicode_categories_cc_cf_zl_zp():
    wanted = [
        chr(code) for code in range(sys.maxunicode + 1) if unicodedata.category(chr(code)) in ("Cc", "Cf", "Zl", "Zp")
    ]
    assert wanted == INVISIBLE_CHARACTERS


def test_a_login_holding_any_invisible_character_is_no_login_to_the_export_nor_to_the_validator():
    logins = [f"ja{char}ne@x.org" for char in INVISIBLE_CHARACTERS]
    users = pl.DataFrame(
        {"email": logins, "username": [None] * len(logins)}, schema={"email": pl.String, "username": pl.String}
    )
    chosen = users.select(teacher_login(pl.col("email"), pl.col("username"))).to_series()
    assert chosen.null_count() == len(logins)
    assert not any(is_email(login) for login in logins)
    assert is_email("jane@x.org")  # the same address without it is one


def test_an_ssid_in_any_other_script_s_digits_is_no_ssid_to_the_export_nor_to_the_validator():
    zeros = [code for code in range(sys.maxunicode + 1) if unicodedata.decimal(chr(code), None) == 0 and code != 0x30]
    written = ["".join(chr(zero + int(digit)) for digit in "1234567890") for zero in zeros]
    text, texts = pl.String, pl.List(pl.String)
    users = pl.DataFrame(
        {"sourced_id": list(map(str, range(len(written)))), "identifier": written, "id_types": [[]] * len(written)},
        schema={"sourced_id": text, "identifier": text, "id_types": texts},
    ).with_columns(id_values=pl.col("id_types"))
    assert len(zeros) > 50
    assert ssids(users, ["SSID"]).get_column("ssid").null_count() == len(written)
    problems = [ssid_problem(ssid) for ssid in written]
    assert all(p.severity == "error" and "digits other than 0-9" in p.message for p in problems)
