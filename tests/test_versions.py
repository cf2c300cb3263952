"""Tests for alnus.versions: the software versions of the report."""

from __future__ import annotations

import json
import platform

import numpy as np
import pytest

from alnus.versions import python_pin, software_versions


def test_software_versions_compares_pinned_installed_and_trained(tmp_path):
    requirements = tmp_path / "requirements.txt"
    requirements.write_text("# pins\nnumpy==1.0  # arrays\nno-such-package==2.0\n")
    card = tmp_path / "card.json"
    card.write_text(json.dumps({"versions": {"numpy": "0.9", "timm": "1.0"}}))
    table = software_versions(str(requirements), {"resnet101": str(card)}).set_index("package")
    assert table.loc["numpy", "pinned"] == "1.0" and table.loc["numpy", "installed"] == np.__version__
    assert table.loc["numpy", "trained (resnet101)"] == "0.9" and table.loc["timm", "trained (resnet101)"] == "1.0"
    assert table.loc["no-such-package", "installed"] == "not installed"
    assert {"python", "alnus"} <= set(table.index)


def test_python_is_pinned_by_the_environment_file_and_read_from_the_interpreter(tmp_path):
    requirements = tmp_path / "requirements.txt"
    requirements.write_text("numpy==1.0\n")
    environment = tmp_path / "stats.yaml"
    environment.write_text("channels: [conda-forge]\ndependencies:\n  - python=3.42  # the pin\n  - pip\n")
    table = software_versions(str(requirements), environment=str(environment)).set_index("package")
    assert table.loc["python", "pinned"] == "3.42"
    assert table.loc["python", "installed"] == platform.python_version()
    assert software_versions(str(requirements)).set_index("package").loc["python", "pinned"] == ""


@pytest.mark.parametrize(
    "text, expected",
    [
        ("dependencies:\n  - python=3.11\n", "3.11"),
        ("dependencies:\n  - python==3.12.1\n", "3.12.1"),
        ("dependencies: []\n", ""),
    ],
)
def test_python_pin_reads_conda_files(tmp_path, text, expected):
    environment = tmp_path / "env.yaml"
    environment.write_text(text)
    assert python_pin(str(environment)) == expected
