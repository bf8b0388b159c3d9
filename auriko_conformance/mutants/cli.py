"""`auriko-conformance mutants`: run the suites against every fault of the catalogue, print the kill table.

    auriko-conformance mutants                          # the whole catalogue, embedded reference
    auriko-conformance mutants --fault done-missing --fault stream-role-missing
    auriko-conformance mutants --smoke --workers 2
    auriko-conformance mutants --markdown docs/mutation.md
    auriko-conformance mutants --list
    auriko-conformance mutants --target-url URL --mock-url MOCKS --api-key KEY   # front-side faults only
    auriko-conformance mutants --whole-suite -n 2       # every suite per fault: complete collateral (~1 h)

Prints the kill rate and the attribution precision (per fault: declared requirements that did not fail,
undeclared ones that did). Exit code 0 when every fault was caught and the identity run passed
everything, 1 otherwise.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path

from auriko_conformance.mutants import catalogue
from auriko_conformance.mutants.attribution import Outcome, Report
from auriko_conformance.mutants.harness import External, evaluate
from auriko_conformance.mutants.whole_suite import DEFAULT_CACHE, evaluate_whole_suite


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
        "--report-dir",
        type=Path,
        help="keep each run's results.json here (default: a temp dir; with --whole-suite, the cache: "
        f"{DEFAULT_CACHE})",
    )
    parser.add_argument(
        "--whole-suite",
        action="store_true",
        help="run every suite under each fault (complete collateral; about an hour on 2 cores); "
        "resumable: finished faults are cached in --report-dir and skipped by the next run",
    )
    parser.add_argument(
        "--markdown", type=Path, help="also write the table as a Markdown page (docs/mutation.md)"
    )
    parser.add_argument(
        "--cached-only",
        action="store_true",
        help="with --whole-suite: run nothing, report the faults measured so far (a partial table)",
    )
    parser.add_argument("--list", action="store_true", help="list the catalogue and exit")
    parser.add_argument("--target-url", help="mutate this running gateway instead (front-side faults only)")
    parser.add_argument("--mock-url", help="the mock providers that target uses upstream")
    parser.add_argument("--api-key", help="API key for --target-url")
    parser.add_argument("--target-profile", help="target profile YAML for --target-url")
    return parser


def _join(items: Sequence[str]) -> str:
    return ", ".join(items) if items else "-"


def _result(outcome: Outcome) -> str:
    return "killed" if outcome.killed else ("ERROR" if outcome.error else "SURVIVED")


def table(report: Report) -> str:
    width = max([len(o.spec.id) for o in report.outcomes] + [5])
    lines = [f"{'fault':<{width}}  {'side':<5}  {'result':<8}  {'s':>5}  detected by | missed | collateral"]
    lines.append("-" * (width + 70))
    for outcome in report.outcomes:
        detail = f"{_join(outcome.detected_by)} | {_join(outcome.missed)} | {_join(outcome.collateral)}"
        if outcome.error:
            detail = outcome.error
        spec = outcome.spec
        lines.append(
            f"{spec.id:<{width}}  {spec.side:<5}  {_result(outcome):<8}  {outcome.seconds:>5.1f}  {detail}"
        )
    return "\n".join(lines)


def _scope(report: Report) -> str:
    return "whole suite per fault" if report.whole_suite else "within each fault's selection only"


def precision_line(report: Report) -> str:
    """Attribution precision in one sentence: the totals the issue's goals are stated in."""
    faults = len(report.outcomes)
    declared = sum(len(o.spec.expect) for o in report.outcomes)
    with_miss = sum(bool(o.missed) for o in report.outcomes)
    with_collateral = sum(bool(o.collateral) for o in report.outcomes)
    return (
        f"missed {report.missed_total} of {declared} declared requirements ({with_miss} faults); "
        f"collateral {report.collateral_total} ({with_collateral} faults); "
        f"collateral-free {report.collateral_free:.1%} of {faults} faults ({_scope(report)})"
    )


def _timing(report: Report) -> str:
    if report.whole_suite:  # resumed over several invocations: the runs' own time says more
        runs = sum(o.seconds for o in report.outcomes)
        return f"run time {runs:.0f} s summed over the fault runs (this invocation {report.seconds:.0f} s)"
    return f"wall time {report.seconds:.0f} s with {report.workers} workers"


def summary(report: Report) -> str:
    killed = sum(o.killed for o in report.outcomes)
    positives = [f"{r} {v}" for r, v in sorted(report.false_positives.items())]
    lines = [
        f"kill rate: {killed}/{len(report.outcomes)} = {report.kill_rate:.1%}",
        f"attribution precision: {precision_line(report)}",
        f"false positives (identity run): {_join(positives) if positives else 'none'}",
        _timing(report),
    ]
    if report.commits:
        lines.append(f"measured at: {', '.join(report.commits)}")
    if report.unmeasured:
        lines.append(f"partial: {len(report.unmeasured)} faults not measured yet")
    return "\n".join(lines)


def _md_cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


#: the generated blocks of docs/mutation.md: the per-fault kill table, and the whole-suite table
MARKERS = {
    False: ("<!-- mutants:begin -->", "<!-- mutants:end -->"),
    True: ("<!-- mutants-whole-suite:begin -->", "<!-- mutants-whole-suite:end -->"),
}
PAGE = """# Mutation testing

The tables of `auriko-conformance mutants` (see the commands in them); everything between the markers
is rewritten by `--markdown`.
"""


def markdown_table(report: Report, command: str) -> str:
    """A generated part of docs/mutation.md: command, kill rate, attribution, one row per fault."""
    killed = sum(o.killed for o in report.outcomes)
    positives = ", ".join(sorted(report.false_positives)) or "none"
    measured = f" Measured at {', '.join(f'`{c}`' for c in report.commits)}." if report.commits else ""
    if report.unmeasured:
        total = len(report.outcomes) + len(report.unmeasured)
        measured += (
            f" **Partial: {len(report.outcomes)} of {total} faults measured**; not measured yet: "
            + ", ".join(f"`{f}`" for f in report.unmeasured)
            + "."
        )
    out = [
        "```",
        command,
        "```",
        "",
        f"**Kill rate: {killed}/{len(report.outcomes)} = {report.kill_rate:.1%}.** "
        f"**Attribution: {precision_line(report)}.** "
        f"False positives on the identity run: {positives}. "
        f"{_timing(report).capitalize()}.{measured}",
        "",
        "| fault | side | caught by | missed | collateral | s | description |",
        "| --- | --- | --- | --- | --- | ---: | --- |",
    ]
    for o in report.outcomes:
        caught = _join(o.detected_by) if o.killed else f"**not caught** (expected {_join(o.spec.expect)})"
        if o.error:
            caught = f"**error**: {o.error}"
        cells = [caught, _join(o.missed), _join(o.collateral)]
        out.append(
            f"| `{o.spec.id}` | {o.spec.side} | "
            + " | ".join(_md_cell(c) for c in cells)
            + f" | {o.seconds:.1f} | {_md_cell(o.spec.description)} |"
        )
    return "\n".join(out)


def write_markdown(path: Path, report: Report, command: str) -> None:
    """Replace the report's generated block of `path` (created with a stub page when missing)."""
    page = path.read_text(encoding="utf-8") if path.exists() else PAGE
    begin, end = MARKERS[report.whole_suite]
    if begin not in page or end not in page:
        page = page.rstrip("\n") + f"\n\n{begin}\n{end}\n"
    head, rest = page.split(begin, 1)
    _, tail = rest.split(end, 1)
    path.write_text(f"{head}{begin}\n{markdown_table(report, command)}\n{end}{tail}", encoding="utf-8")


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
    if args.whole_suite:
        cache = args.report_dir or DEFAULT_CACHE
        print(f"{len(specs)} faults, whole suite each, {args.workers} workers; {cache}", file=sys.stderr)
        report = evaluate_whole_suite(
            specs,
            workers=args.workers,
            cache_dir=cache,
            external=external,
            progress=lambda line: print(line, file=sys.stderr, flush=True),
            cached_only=args.cached_only,
        )
    else:
        full = not args.fault and not args.smoke
        with tempfile.TemporaryDirectory(prefix="auriko-mutants-") as tmp:
            workdir = args.report_dir or Path(tmp)
            print(f"{len(specs)} faults, {args.workers} workers; runs in {workdir}", file=sys.stderr)
            report = evaluate(
                specs, workers=args.workers, workdir=workdir, full_baseline=full, external=external
            )
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
        f" missed {outcome.missed}, collateral {outcome.collateral}, error {outcome.error},"
        f" not exercised {outcome.unexercised}"
    )


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
