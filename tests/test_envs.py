"""The conda environments of envs/ (for `--software-deployment-method conda`)
pin the same versions as requirements.txt, and each rule's environment holds
every third-party package its script imports, directly or through alnus."""

from __future__ import annotations

import ast
import re
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
SCRIPTS = ROOT / "workflow" / "scripts"
# Import name -> distribution name, where they differ.
DISTRIBUTION = {
    "cv2": "opencv-python-headless",
    "PIL": "Pillow",
    "sklearn": "scikit-learn",
    "yaml": "PyYAML",
    "imagehash": "ImageHash",
    "pywt": "PyWavelets",
    "pytorch_grad_cam": "grad-cam",
    "ahocorasick": "pyahocorasick",
}
# Packages that the Snakemake job itself provides (the `snakemake` object of a script).
PROVIDED = {"snakemake"}


def pins(lines: list[str]) -> dict[str, str]:
    """{distribution (lower case): version} of `name==version` lines."""
    found = (re.fullmatch(r"\s*([A-Za-z0-9_.-]+)==(\S+)\s*", line) for line in lines)
    return {m.group(1).lower(): m.group(2) for m in found if m}


REQUIREMENTS = pins((ROOT / "requirements.txt").read_text().splitlines())
ENVS = {
    path.name: pins(yaml.safe_load(path.read_text())["dependencies"][-1]["pip"])
    for path in (ROOT / "envs").glob("*.yaml")
}


@pytest.mark.parametrize("env", sorted(ENVS))
def test_env_pins_match_requirements(env):
    assert ENVS[env], f"envs/{env} pins nothing"
    for name, version in ENVS[env].items():
        assert REQUIREMENTS.get(name) == version, (
            f"envs/{env}: {name}=={version}, requirements.txt: {REQUIREMENTS.get(name)}"
        )


def rules_with_scripts() -> list[tuple[str, str, str]]:
    """(rule, conda env file name, script path) of every rule that runs a script."""
    found = []
    for smk in sorted((ROOT / "workflow" / "rules").glob("*.smk")):
        # Rules at the top level, and those defined under a condition (`if FOLDS:`), indented.
        for block in re.split(r"^(?=[ \t]*rule \w+:$)", smk.read_text(), flags=re.MULTILINE)[1:]:
            name = re.match(r"\s*rule (\w+):", block).group(1)
            script = re.search(r"^\s+script:\n\s+\"([^\"]+)\"", block, flags=re.MULTILINE)
            if script is None:
                continue
            conda = re.search(r"^\s+conda:\n\s+\"([^\"]+)\"", block, flags=re.MULTILINE)
            assert conda, f"rule {name} in {smk.name} runs a script but names no conda environment"
            found.append((name, Path(conda.group(1)).name, script.group(1).removeprefix("../scripts/")))
    return found


def third_party_imports(script: Path) -> set[str]:
    """Top-level names of the non-standard-library packages that `script`
    imports, following `alnus` modules transitively (imports inside
    functions count: they run when the function does)."""
    seen, todo, found = set(), [script], set()
    while todo:
        path = todo.pop()
        if path in seen:
            continue
        seen.add(path)
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0:
                names = [node.module] + [f"{node.module}.{alias.name}" for alias in node.names]
            else:
                continue
            for name in names:
                top = name.split(".")[0]
                if top == "alnus":
                    module = SCRIPTS / Path(*name.split("."))
                    todo += [p for p in (module.with_suffix(".py"), module / "__init__.py") if p.is_file()]
                elif top not in sys.stdlib_module_names and top not in PROVIDED and top != "__future__":
                    found.add(top)
    return found


@pytest.mark.parametrize("rule, env, script", rules_with_scripts(), ids=lambda v: str(v))
def test_rule_env_holds_what_its_script_imports(rule, env, script):
    assert env in ENVS, f"rule {rule}: envs/{env} does not exist"
    missing = {
        top for top in third_party_imports(SCRIPTS / script) if DISTRIBUTION.get(top, top).lower() not in ENVS[env]
    }
    assert not missing, f"rule {rule} ({script}) imports {sorted(missing)}, which envs/{env} lacks"
