"""requirements.lock, which CI audits with pip-audit, keeps up with pyproject.toml's runtime dependencies."""

from __future__ import annotations

import re
import tomllib

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

from tests.conftest import ROOT


def pins() -> dict[str, Version]:
    found: dict[str, Version] = {}
    for line in (ROOT / "requirements.lock").read_text().splitlines():
        line = line.split("#")[0].strip()
        if not line:
            continue
        match = re.fullmatch(r"([A-Za-z0-9._-]+)==([^\s;]+)", line)
        assert match, f"not an exact pin: {line!r}"
        found[canonicalize_name(match[1])] = Version(match[2])
    return found


def test_every_runtime_dependency_is_pinned_within_its_range() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    locked = pins()
    for raw in project["dependencies"]:
        requirement = Requirement(raw)
        name = canonicalize_name(requirement.name)
        assert name in locked, f"{requirement.name} is missing from requirements.lock (see its header)"
        assert requirement.specifier.contains(locked[name]), f"{name}=={locked[name]} is outside {raw!r}"


def test_ci_audits_the_lock_file() -> None:
    ci = (ROOT / ".ci" / "run").read_text()
    assert re.search(r"pip-audit -r requirements\.lock\b", ci)
    dev = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["optional-dependencies"]["dev"]
    assert any(canonicalize_name(Requirement(r).name) == "pip-audit" for r in dev)
