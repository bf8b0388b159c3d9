"""`auriko-conformance profile init [FILE]` and `profile check FILE`: start a profile, and validate one.

A profile is the first file a gateway team writes, usually by copying an example: `init` writes a
commented starter (every key, its default, its allowed values), `check` reports what the suite will
read from a file, or one line per problem naming the key, before a run depends on it.
"""

from __future__ import annotations

import argparse
import shutil
import sys
from collections.abc import Sequence
from pathlib import Path

from auriko_conformance.suites.exit_codes import ExitCode
from auriko_conformance.suites.profile import ProfileError, load_profile

from auriko_conformance.paths import FIXTURES_DIR

STARTER = FIXTURES_DIR / "profiles" / "starter.yaml"


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="auriko-conformance profile",
        description="Write or validate a target profile (docs/profiles.md).",
    )
    sub = parser.add_subparsers(dest="action", required=True)
    init = sub.add_parser("init", help="write a commented starter profile")
    init.add_argument(
        "file",
        nargs="?",
        type=Path,
        default=Path("conformance-profile.yaml"),
        help="where to write it (default: conformance-profile.yaml)",
    )
    init.add_argument("--force", action="store_true", help="overwrite an existing file")
    check = sub.add_parser(
        "check", help="validate a profile; exit 0 when usable, 2 with one line per problem"
    )
    check.add_argument("file", type=Path)
    return parser


def init(path: Path, *, force: bool) -> int:
    if path.exists() and not force:
        print(f"{path} exists; pass --force to overwrite it", file=sys.stderr)
        return int(ExitCode.CONFIG)
    path.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(STARTER, path)
    print(f"wrote {path}: edit it, then `auriko-conformance profile check {path}`")
    return int(ExitCode.OK)


def check(path: Path) -> int:
    try:
        profile = load_profile(path)
    except ProfileError as exc:
        print(exc, file=sys.stderr)
        return int(ExitCode.CONFIG)
    offered = f"{len(profile.offered_models)} listed" if profile.offered_models is not None else "not listed"
    header_names = sorted({*profile.headers, *(h for m in profile.model_headers.values() for h in m)})
    print(f"{path}: valid profile {profile.name!r}")
    providers = ", ".join(profile.models_by_provider) or "-"
    print(f"  default model {profile.default_model!r}; providers: {providers}")
    print(f"  models offered: {offered}; claims: {', '.join(sorted(profile.claims)) or '-'}")
    print(f"  headers: {', '.join(header_names) or '-'}; prices for {len(profile.prices)} offering(s)")
    return int(ExitCode.OK)


def main(argv: Sequence[str]) -> int:
    args = _parser().parse_args(argv)
    if args.action == "init":
        return init(args.file, force=args.force)
    return check(args.file)
