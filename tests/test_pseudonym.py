"""Tests for alnus.pseudonym: keyed, stable pseudonyms and the key file."""

from __future__ import annotations

import os
import stat

import pytest

from alnus.pseudonym import KEY_ENV_VAR, load_key, load_or_create_key, pseudonym

KEY = b"0123456789abcdef0123456789abcdef"
OTHER_KEY = b"fedcba9876543210fedcba9876543210"


@pytest.fixture(autouse=True)
def no_env_key(monkeypatch):
    """A key in the developer's environment must not leak into these tests."""
    monkeypatch.delenv(KEY_ENV_VAR, raising=False)


def test_same_key_same_pseudonym():
    assert pseudonym(KEY, "development", "patient", "MRN1") == pseudonym(KEY, "development", "patient", "MRN1")


@pytest.mark.parametrize(
    "a, b",
    [
        pytest.param((KEY, "development", "patient", "MRN1"), (OTHER_KEY, "development", "patient", "MRN1"), id="key"),
        pytest.param((KEY, "development", "patient", "MRN1"), (KEY, "external", "patient", "MRN1"), id="cohort"),
        pytest.param((KEY, "development", "patient", "MRN1"), (KEY, "development", "image", "MRN1"), id="kind"),
        pytest.param((KEY, "development", "patient", "MRN1"), (KEY, "development", "patient", "MRN2"), id="value"),
        pytest.param((KEY, "ab", "c"), (KEY, "a", "bc"), id="part boundaries"),
    ],
)
def test_each_part_of_the_identity_changes_the_pseudonym(a, b):
    assert pseudonym(*a) != pseudonym(*b)


@pytest.mark.parametrize("length", [8, 16, 32, 64])
def test_length_and_alphabet(length):
    value = pseudonym(KEY, "development", "image", "a.png", length=length)
    assert len(value) == length
    assert set(value) <= set("0123456789abcdef")


def test_default_length_is_16():
    assert len(pseudonym(KEY, "x")) == 16


def test_shorter_pseudonym_is_a_prefix():
    assert pseudonym(KEY, "x", length=32).startswith(pseudonym(KEY, "x", length=8))


def test_key_file_is_created_once_with_mode_0600(tmp_path):
    path = tmp_path / "private" / "pseudonym.key"
    first = load_or_create_key(path)
    assert path.is_file()
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert len(first) >= 32
    assert load_or_create_key(path) == first
    assert os.listdir(path.parent) == ["pseudonym.key"]  # no temporary file left behind


def test_two_new_key_files_differ(tmp_path):
    assert load_or_create_key(tmp_path / "a.key") != load_or_create_key(tmp_path / "b.key")


def test_existing_key_file_is_read_stripped(tmp_path):
    path = tmp_path / "pseudonym.key"
    path.write_text("  my-own-long-secret-key-text \n")
    assert load_or_create_key(path) == b"my-own-long-secret-key-text"


def test_environment_variable_takes_precedence(tmp_path, monkeypatch):
    path = tmp_path / "pseudonym.key"
    path.write_text("file-key-file-key-file-key\n")
    monkeypatch.setenv(KEY_ENV_VAR, "environment-key-0123456789\n")
    assert load_or_create_key(path) == b"environment-key-0123456789"


def test_environment_variable_means_no_key_file(tmp_path, monkeypatch):
    monkeypatch.setenv("MY_KEY", "environment-key-0123456789")
    path = tmp_path / "pseudonym.key"
    assert load_or_create_key(path, env_var="MY_KEY") == b"environment-key-0123456789"
    assert not path.exists()


@pytest.mark.parametrize("content", ["", "\n", "short-key"])
def test_short_key_file_says_restore_from_backup(tmp_path, content):
    path = tmp_path / "pseudonym.key"
    path.write_text(content)
    expected = r"pseudonym key .*pseudonym\.key is empty or too short; .*restore it from your backup"
    with pytest.raises(ValueError, match=expected):
        load_or_create_key(path)


@pytest.mark.parametrize("value", ["   ", "abc"])
def test_short_environment_key_is_rejected(tmp_path, monkeypatch, value):
    monkeypatch.setenv(KEY_ENV_VAR, value)
    with pytest.raises(ValueError, match=KEY_ENV_VAR):
        load_or_create_key(tmp_path / "pseudonym.key")


def test_load_key_reads_the_file_or_the_environment_and_never_creates_one(tmp_path, monkeypatch):
    path = tmp_path / "private" / "pseudonym.key"
    with pytest.raises(ValueError, match=r"pseudonym\.key does not exist; rule pseudonym_key writes it"):
        load_key(path)
    assert not path.parent.exists()
    created = load_or_create_key(path)
    assert load_key(path) == created
    monkeypatch.setenv(KEY_ENV_VAR, "environment-key-0123456789")
    assert load_key(tmp_path / "nowhere.key") == b"environment-key-0123456789"
