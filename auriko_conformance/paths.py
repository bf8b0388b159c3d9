"""Where the contract and the fixtures live, in a source checkout and in an installed wheel.

The contract (`openapi.yaml`) and `fixtures/` sit at the repository root so that people read them
first; a wheel carries copies under `auriko_conformance/_data/`. Every module finds them here, so
nothing else needs to know which of the two layouts it runs from.
"""

from __future__ import annotations

from pathlib import Path

_PACKAGE_DIR = Path(__file__).resolve().parent
_DATA_DIR = _PACKAGE_DIR / "_data"
REPO_ROOT = _PACKAGE_DIR.parent


def _data_root() -> Path:
    if (_DATA_DIR / "openapi.yaml").is_file():
        return _DATA_DIR
    return REPO_ROOT


OPENAPI_PATH: Path = _data_root() / "openapi.yaml"
FIXTURES_DIR: Path = _data_root() / "fixtures"
#: the project's docs (decisions the reports cite); a wheel carries them under `_data/docs`
DOCS_DIR: Path = _data_root() / "docs"
