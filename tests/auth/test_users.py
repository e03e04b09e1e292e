"""How login names are compared: case-insensitively, emails normalised as at registration."""

from __future__ import annotations

import pytest

from lanes_auth.users import email_key, is_email, login_key, username_key


def test_usernames_compare_regardless_of_case() -> None:
    assert username_key("Alice") == username_key("ALICE") == "alice"


@pytest.mark.parametrize(
    "variant",
    ["alice@example.com", "ALICE@EXAMPLE.COM", "Alice@Example.com", "alice@EXAMPLE.com"],
)
def test_emails_compare_regardless_of_case(variant: str) -> None:
    assert email_key(variant) == "alice@example.com"


def test_an_idna_domain_matches_its_unicode_form() -> None:
    assert email_key("Ü@xn--exmple-cua.com") == email_key("ü@exämple.com")


def test_a_name_that_is_no_valid_address_is_compared_as_it_is() -> None:
    assert email_key("Not@An@Address") == "not@an@address"


def test_login_names_with_an_at_sign_are_emails() -> None:
    assert is_email("alice@example.com")
    assert not is_email("alice")
    assert login_key("Alice") == "username:alice"
    assert login_key("Alice@Example.com") == "email:alice@example.com"
