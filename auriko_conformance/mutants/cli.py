"""`auriko-conformance mutants`: run the suites against every fault of the catalogue, print the kill table.

    auriko-conformance mutants                          # the whole catalogue, embedded reference
    auriko-conformance mutants --fault done-missing --fault stream-role-missing
    auriko-conformance mutants --smoke --workers 2
    auriko-conformance mutants --markdown docs/mutation.md
    auriko-conformance mutants --list
    auriko-conformance mutants --target-url URL --mock-url MOCKS --api-key KEY   # front-side faults only

Exit code 0 when every fault was caught and the identity run passed everything, 1 otherwise.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path

from auriko_conformance.mutants import catalogue
from auriko_conformance.mutants.harness import External, Outcome, Report, evaluate


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="auriko-conformance mutants",
        description="Mutation testing of the conformance suites: run them against deliberately broken "
        "gateways (one fault each) and report which requirement caught each fault.",
    )
    parser.add_argument(
        "--fault", action="append", default=[], metavar="ID", help="run this fault (repeatable)"
    )
    parser.add_argument("--smoke", action="store_true", help="only the fast smoke subset of the catalogue")
    parser.add_argument(
        "-n",
        "--workers",
        type=int,
        default=min(4, 2 * (os.cpu_count() or 1)),
        help="parallel runs (default: twice the CPUs, at most 4; the runs mostly wait on sockets)",
    )
    parser.add_argument(
        "--report-dir", type=Path, help="keep each run's results.json here (default: a temp dir)"
    )
    parser.add_argument(
        "--markdown", type=Path, help="also write the table as a Markdown page (docs/mutation.md)"
    )
    parser.add_argument("--list", action="store_true", help="list the catalogue and exit")
    parser.add_argument("--target-url", help="mutate this running gateway instead (front-side faults only)")
    parser.add_argument("--mock-url", help="the mock providers that target uses upstream")
    parser.add_argument("--api-key", help="API key for --target-url")
    parser.add_argument("--target-profile", help="target profile YAML for --target-url")
    return parser


def _join(items: Sequence[str]) -> str:
    return ", ".join(items) if items else "-"


def table(report: Report) -> str:
    width = max([len(o.spec.id) for o in report.outcomes] + [5])
    lines = [f"{'fault':<{width}}  {'side':<5}  {'result':<8}  {'s':>5}  detected by (also failing)"]
    lines.append("-" * (width + 60))
    for outcome in report.outcomes:
        result = "killed" if outcome.killed else ("ERROR" if outcome.error else "SURVIVED")
        also = f" ({_join(outcome.also)})" if outcome.also else ""
        detail = _join(outcome.detected_by) + also
        if outcome.error:
            detail = outcome.error
        elif not outcome.killed:
            detail = f"none of {_join(outcome.spec.expect)}{also}"
        spec = outcome.spec
        lines.append(f"{spec.id:<{width}}  {spec.side:<5}  {result:<8}  {outcome.seconds:>5.1f}  {detail}")
    return "\n".join(lines)


def summary(report: Report) -> str:
    killed = sum(o.killed for o in report.outcomes)
    positives = [f"{r} {v}" for r, v in sorted(report.false_positives.items())]
    lines = [
        f"kill rate: {killed}/{len(report.outcomes)} = {report.kill_rate:.1%}",
        f"false positives (identity run): {_join(positives) if positives else 'none'}",
        f"wall time: {report.seconds:.0f} s with {report.workers} workers",
    ]
    return "\n".join(lines)


def _md_cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


BEGIN, END = "<!-- mutants:begin -->", "<!-- mutants:end -->"
PAGE = f"""# Mutation testing

The kill table of `auriko-conformance mutants` (see the command below); everything between the markers
is rewritten by `--markdown`.

{BEGIN}
{END}
"""


def markdown_table(report: Report, command: str) -> str:
    """The generated part of docs/mutation.md: command, kill rate, one row per fault."""
    killed = sum(o.killed for o in report.outcomes)
    positives = ", ".join(sorted(report.false_positives)) or "none"
    out = [
        "```",
        command,
        "```",
        "",
        f"**Kill rate: {killed}/{len(report.outcomes)} = {report.kill_rate:.1%}.** "
        f"False positives on the identity run: {positives}. "
        f"Wall time {report.seconds:.0f} s with {report.workers} workers.",
        "",
        "| fault | side | caught by | also failing | s | description |",
        "| --- | --- | --- | --- | ---: | --- |",
    ]
    for o in report.outcomes:
        caught = _join(o.detected_by) if o.killed else f"**not caught** (expected {_join(o.spec.expect)})"
        if o.error:
            caught = f"**error**: {o.error}"
        out.append(
            f"| `{o.spec.id}` | {o.spec.side} | {_md_cell(caught)} | {_md_cell(_join(o.also))} | "
            f"{o.seconds:.1f} | {_md_cell(o.spec.description)} |"
        )
    return "\n".join(out)


def write_markdown(path: Path, report: Report, command: str) -> None:
    """Replace the generated block of `path` (created with a stub page when missing)."""
    page = path.read_text(encoding="utf-8") if path.exists() else PAGE
    if BEGIN not in page or END not in page:
        page = page.rstrip("\n") + f"\n\n{BEGIN}\n{END}\n"
    head, rest = page.split(BEGIN, 1)
    _, tail = rest.split(END, 1)
    path.write_text(f"{head}{BEGIN}\n{markdown_table(report, command)}\n{END}{tail}", encoding="utf-8")


def _list() -> str:
    lines = []
    for spec in catalogue.faults():
        smoke = " [smoke]" if spec.smoke else ""
        lines.append(f"{spec.id} ({spec.side}){smoke}: {spec.description} -> {', '.join(spec.expect)}")
    return "\n".join(lines)


def main(argv: Sequence[str]) -> int:
    args = _parser().parse_args(argv)
    if args.list:
        print(_list())
        return 0
    try:
        specs = catalogue.faults(args.fault or None, smoke=args.smoke)
    except catalogue.CatalogueError as exc:
        print(f"auriko-conformance mutants: {exc}", file=sys.stderr)
        return 2
    external = None
    if args.target_url:
        external = External(args.target_url, args.mock_url, args.api_key, args.target_profile)
        skipped = [s.id for s in specs if s.side != "front"]
        specs = [s for s in specs if s.side == "front"]
        if skipped:
            print(
                f"{len(skipped)} back/both-side faults need the embedded reference; skipped", file=sys.stderr
            )
    full = not args.fault and not args.smoke
    with tempfile.TemporaryDirectory(prefix="auriko-mutants-") as tmp:
        workdir = args.report_dir or Path(tmp)
        print(f"{len(specs)} faults, {args.workers} workers; runs in {workdir}", file=sys.stderr)
        report = evaluate(specs, workers=args.workers, workdir=workdir, full_baseline=full, external=external)
    print(table(report))
    print(summary(report))
    if args.markdown:
        command = "auriko-conformance mutants " + " ".join(a for a in argv if a)
        write_markdown(args.markdown, report, command.strip())
        print(f"wrote {args.markdown}")
    return 0 if report.kill_rate == 1.0 and not report.false_positives else 1


def outcome_line(outcome: Outcome) -> str:
    """One line per fault, for test failure messages."""
    state = "killed" if outcome.killed else "survived"
    return (
        f"{outcome.spec.id}: {state}; expected {list(outcome.spec.expect)}, caught by {outcome.detected_by},"
        f" also {outcome.also}, error {outcome.error}, not exercised {outcome.unexercised}"
    )


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
