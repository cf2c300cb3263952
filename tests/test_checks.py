"""Tests for alnus.checks: the one wording of "must be one of"."""

import pytest

from alnus.checks import check_choice


def test_a_valid_choice_passes():
    assert check_choice("firth", ("firth", "mle"), "`clinical: fit`") is None
    assert check_choice(3, range(5), "`k`") is None


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({}, r"^`clinical: fit` must be one of firth, mle, got 'ols'$"),
        ({"where": "config.yaml"}, r"^config.yaml: `clinical: fit` must be one of firth, mle, got 'ols'$"),
        ({"fix": "see the schema"}, r"^`clinical: fit` must be one of firth, mle, got 'ols'; see the schema$"),
    ],
)
def test_an_unknown_choice_names_the_option_the_choices_and_the_value(kwargs, message):
    with pytest.raises(ValueError, match=message):
        check_choice("ols", ("firth", "mle"), "`clinical: fit`", **kwargs)
