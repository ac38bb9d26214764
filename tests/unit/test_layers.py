"""The bot's layers: no module imports a module of a higher layer.

`bot/X.py` and everything under `bot/X/` have X's rank; importing within one's own package is always
fine. Imports inside functions and under TYPE_CHECKING count too: a layer is a promise about what a
module may know, not only about what loads first.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

BOT = Path(__file__).resolve().parents[2] / "bot"
RANKS = {
    "images": 0,
    "logs": 0,
    "store": 1,
    "request": 1,
    # Not in the lead's list: Alembic's scripts, which read the tables (store) and nothing above.
    "migrations": 2,
    "jobs": 2,
    "usage": 2,
    "replies": 3,
    "slack": 3,
    "settings": 3,
    "intake": 4,
    "worker": 4,
    "listeners": 5,
    "web": 6,
    "app": 7,
    "processes": 8,
    "__main__": 9,
}


def package_of(module: str) -> str | None:
    """`bot.jobs.queue` → `jobs`; `bot` itself → None."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 and parts[0] == "bot" else None


def module_name(path: Path) -> str:
    relative = path.relative_to(BOT.parent).with_suffix("")
    parts = list(relative.parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def imported(path: Path, source: str | None = None) -> Iterator[tuple[int, str]]:
    """Every module `path` imports, with the line: absolute and relative, at any depth. For
    `from X import name` both X and X.name are given, since `name` may be a module."""
    tree = ast.parse(source if source is not None else path.read_text(encoding="utf-8"), filename=str(path))
    here = module_name(path).split(".")
    package = here if path.name == "__init__.py" else here[:-1]
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package[: len(package) - node.level + 1]
                target = ".".join([*base, node.module] if node.module else base)
            else:
                target = node.module or ""
            yield node.lineno, target
            for alias in node.names:
                yield node.lineno, f"{target}.{alias.name}"


def sources() -> list[Path]:
    return sorted(p for p in BOT.rglob("*.py") if "__pycache__" not in p.parts)


def test_every_package_and_top_level_module_has_a_rank() -> None:
    names = {name for path in sources() if (name := package_of(module_name(path))) is not None}
    assert names <= RANKS.keys(), f"give {sorted(names - RANKS.keys())} a rank"


def test_no_module_imports_a_higher_layer() -> None:
    wrong = []
    for path in sources():
        importer = package_of(module_name(path))
        if importer is None:
            continue  # bot/__init__.py
        rank = RANKS[importer]
        wrong += [
            f"{path.relative_to(BOT.parent)}:{line}: {target} (rank {RANKS[package]}) from {importer} (rank {rank})"
            for line, target in imported(path)
            if (package := package_of(target)) is not None
            and package != importer
            and package in RANKS
            and RANKS[package] > rank
        ]
    assert not wrong, "\n".join(wrong)


def test_the_checker_sees_relative_nested_and_package_imports() -> None:
    """The checker itself: a module in bot/store that imports upwards in each way imports are written."""
    source = (
        "from __future__ import annotations\n"
        "from bot.replies import text\n"
        "from ..worker import runner\n"
        "from .. import listeners\n"
        "from bot import app\n"
        "def later() -> None:\n"
        "    import bot.web.front\n"
    )
    targets = {target for _, target in imported(BOT / "store" / "probe.py", source)}
    packages = {package_of(target) for target in targets}
    assert {"replies", "worker", "listeners", "app", "web"} <= packages
