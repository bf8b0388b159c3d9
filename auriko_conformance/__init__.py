"""Conformance suite, mock providers and reference gateway for the Auriko chat-completions API.

Everything is imported under one name: `auriko_conformance.suites`, `auriko_conformance.mocks`,
`auriko_conformance.reference_impl` (issue 18; docs/decisions.md D-130). A gateway team's own
repository often has packages called `suites` or `mocks`; generic top-level names installed into
site-packages would shadow them. The wheel puts the three folders inside this package. In a checkout
they stay at the root, where readers look for them, and this package's search path includes the
checkout root so the same import names work in both (PEP 420-style `__path__` extension, no copy).
"""

from pathlib import Path

__version__ = "0.1.0"

_CHECKOUT = Path(__file__).resolve().parent.parent
if (_CHECKOUT / "pyproject.toml").is_file() and (_CHECKOUT / "suites" / "__init__.py").is_file():
    __path__.append(str(_CHECKOUT))
