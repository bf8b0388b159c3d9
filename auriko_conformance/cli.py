"""The `auriko-conformance` command.

Each subcommand lives in the package that owns the idea (mocks, reference gateway, suites); this module
only dispatches, importing lazily so that `auriko-conformance mocks` never pays for the suite's imports.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Callable, Sequence

# subcommand -> (module, function, one-line help). The function takes the remaining argv and
# returns an exit code.
SUBCOMMANDS: dict[str, tuple[str, str, str]] = {
    "mocks": ("auriko_conformance.mocks.server", "main", "run the mock provider servers"),
    "serve": ("auriko_conformance.reference_impl.server", "main", "run the reference gateway"),
    "run": ("auriko_conformance.suites.runner", "main", "run the conformance suites against a target"),
    "report": (
        "auriko_conformance.suites.report",
        "main",
        "render results.json files side by side as one HTML report",
    ),
    "profile": (
        "auriko_conformance.suites.profile_cli",
        "main",
        "write a starter target profile (init) or validate one (check)",
    ),
    "contract": ("auriko_conformance.contract", "main", "validate openapi.yaml or a request body"),
    "fuzz": ("auriko_conformance.fuzz", "main", "fuzz a gateway from openapi.yaml with schemathesis"),
    "mutants": ("auriko_conformance.mutants.cli", "main", "mutation testing: faults the suites catch"),
    "bench": ("bench.run", "main", "benchmark the reference against a direct mock call and LiteLLM"),
}

# two-word subcommands that are not the first word's own command
NESTED: dict[tuple[str, str], tuple[str, str]] = {
    ("mocks", "fidelity"): ("auriko_conformance.mocks.fidelity", "main")
}


def _resolve(name: str) -> Callable[[Sequence[str]], int]:
    module_name, func_name, _ = SUBCOMMANDS[name]
    module = importlib.import_module(module_name)
    return getattr(module, func_name)


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    parser = argparse.ArgumentParser(
        prog="auriko-conformance",
        description="Conformance suite, mock providers and reference gateway for POST /v1/chat/completions.",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name, (_, _, help_text) in SUBCOMMANDS.items():
        sub.add_parser(name, help=help_text, add_help=False)
    if not args or args[0] in {"-h", "--help"} or args[0] not in SUBCOMMANDS:
        parser.print_help()
        return 0 if not args or args[0] in {"-h", "--help"} else 2
    nested = NESTED.get((args[0], args[1])) if len(args) > 1 else None
    if nested is not None:
        return int(getattr(importlib.import_module(nested[0]), nested[1])(args[2:]) or 0)
    try:
        func = _resolve(args[0])
    except ModuleNotFoundError as exc:
        print(f"auriko-conformance {args[0]}: not available in this build ({exc.name})", file=sys.stderr)
        return 2
    return int(func(args[1:]) or 0)


if __name__ == "__main__":
    raise SystemExit(main())
