"""The pytest plugin that makes the suites run against any target and report per requirement.

Loaded only when asked for (`auriko-conformance run` does; with pytest, `-p
auriko_conformance.suites.plugin`), never globally: a user's own repository may have packages of the
same names. It adds the options (declared in suites/options.py), the `target` / `mocks` / `profile` /
`judge` fixtures, the `requirement` marker, the preflight, the run's timeouts and, when
`--conformance-report DIR` is given, writes `results.json` and `report.html` there.

Verdicts: a check finding against a MUST requirement fails the test; against a SHOULD or MAY
requirement it is recorded as informational and the test passes; a test that needs a feature the
target's profile does not claim is skipped as "not claimed". A requirement whose precondition did not
hold (the target answered an error where an answer was due) is "blocked", linked to the one root cause
the judge names, never failed: one defect, one finding (D-090).
"""

from __future__ import annotations

import importlib.util
import os
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson
import pytest
from auriko_conformance.suites import options
from auriko_conformance.suites.checks import (
    ANY_UPSTREAM_RULE,
    STATUS,
    Blocked,
    Check,
    Context,
    Finding,
    Located,
    Restated,
    about_status,
    all_checks,
    applicable,
    is_claimed,
    owners_of,
    select_checks,
    unclaimed_checks,
    upstream_rules,
)
from auriko_conformance.suites.checks.readable import reads_headers_only, unreadable_answer
from auriko_conformance.suites.checks.xlate import refused_request
from auriko_conformance.suites.exchange import Exchange
from auriko_conformance.suites.exit_codes import ExitCode
from auriko_conformance.suites.findings import group_findings
from auriko_conformance.suites.fuzzing.merge import fold_saved_fuzz_run
from auriko_conformance.suites.journal import refusals
from auriko_conformance.suites.options import LEVELS
from auriko_conformance.suites.preflight import run_preflight
from auriko_conformance.suites.profile import ProfileError, TargetProfile, load_profile
from auriko_conformance.suites.report import build_results, not_judged_results, write_reports
from auriko_conformance.suites.requirements import ANSWERED, load_catalogue
from auriko_conformance.suites.target import CHAT_PATH, Mocks, Target, TargetTimeout, new_tag, tag_of

NOT_CLAIMED = "not claimed: "
_USER_PROPERTY = "auriko_conformance"

PROFILE_ENV = "AURIKO_TARGET_PROFILE"
SNAPSHOT_ENV = "AURIKO_SNAPSHOT_DIR"
_ENV_KEY = pytest.StashKey[dict[str, str | None]]()
_HEADERS_KEY = pytest.StashKey[dict[str, str]]()


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("auriko-conformance", "Auriko chat-completions conformance")
    options.add_to_pytest(group, (*options.TARGET, *options.SUITES, options.REPORT))


@pytest.hookimpl(tryfirst=True)
def pytest_configure(config: pytest.Config) -> None:
    _default_async_loop_scope(config)
    config.addinivalue_line("markers", "requirement(*ids): requirement IDs a conformance test verifies")
    config.addinivalue_line("markers", "needs(*features): target-profile features the test needs")
    config.addinivalue_line("markers", "needs_package(*names): Python packages a test needs to judge")
    config.addinivalue_line("markers", "level(scope): the lowest --level the test (or case) belongs to")
    config.addinivalue_line("markers", "fuzz: schemathesis fuzzing of the target (run with -m fuzz)")
    config.addinivalue_line("markers", "slow: takes more than a few seconds")
    _check_configuration(config)
    if config.getoption("--conformance-report") and not hasattr(config, "workerinput"):
        config.pluginmanager.register(ResultCollector(config), "auriko-conformance-results")
    config.pluginmanager.register(RunGuard(config), "auriko-conformance-run-guard")
    config.pluginmanager.register(QuietDistStatus(), "auriko-conformance-quiet-dist-status")
    # suites/test_fuzz.py fits the contract to the profile's claims when it is imported (D-056), and
    # the snapshot suites find their baselines, before any fixture can tell them: the options reach
    # them, and xdist's workers, through the environment, restored when the session ends.
    snapshots = config.getoption("--snapshot-dir")
    _set_environment(
        config,
        {
            PROFILE_ENV: config.getoption("--target-profile"),
            SNAPSHOT_ENV: str(Path(snapshots).resolve()) if snapshots else None,
        },
    )


def _default_async_loop_scope(config: pytest.Config) -> None:
    """pytest-asyncio warns on every run whose ini does not set its fixture loop scope: a user running
    `pytest -p auriko_conformance.suites.plugin` in their own repository has no reason to.
    The suites' async fixtures are
    function-scoped, so that is the default here (before pytest-asyncio reads it; an explicit setting
    wins). pytest has no public setter for a string ini value: its ini cache is the one place."""
    name = "asyncio_default_fixture_loop_scope"
    try:
        unset = not config.getini(name)
    except ValueError:  # pytest-asyncio not installed: nothing to default
        return
    if unset and isinstance(getattr(config, "_inicache", None), dict):
        config._inicache[name] = "function"


def _check_configuration(config: pytest.Config) -> None:
    """Options and the profile are valid, else one line each and exit code 2 before anything runs."""
    problems: list[str] = []
    try:
        config.stash[_HEADERS_KEY] = options.parse_headers(config.getoption("--header") or [])
    except ValueError as exc:
        problems.append(str(exc))
    path = config.getoption("--target-profile")
    try:
        load_profile(Path(path) if path else None)
    except ProfileError as exc:
        problems.extend(str(exc).splitlines())
    if problems:
        pytest.exit("invalid configuration:\n  " + "\n  ".join(problems), returncode=ExitCode.CONFIG)


def _set_environment(config: pytest.Config, values: dict[str, str | None]) -> None:
    saved: dict[str, str | None] = {}
    for name, value in values.items():
        if value:
            saved[name] = os.environ.get(name)
            os.environ[name] = str(value)
    config.stash[_ENV_KEY] = saved


def pytest_unconfigure(config: pytest.Config) -> None:
    for name, previous in config.stash.get(_ENV_KEY, {}).items():
        if previous is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = previous


# --------------------------------------------------------------------------------------------------
# Preflight, timeouts and the run's limits (harness behaviour; verdicts are further down)
# --------------------------------------------------------------------------------------------------


def _profile(config: pytest.Config) -> TargetProfile:
    path = config.getoption("--target-profile")
    return load_profile(Path(path) if path else None)


def make_target(config: pytest.Config) -> Target:
    """The target client every test uses: key, headers (profile, then --header) and timeouts."""
    profile = _profile(config)
    return Target(
        config.getoption("--target-url"),
        config.getoption("--api-key"),
        timeout=config.getoption("--target-timeout"),
        stall_timeout=config.getoption("--stall-timeout"),
        headers={**profile.headers, **config.stash.get(_HEADERS_KEY, {})},
        model_headers=profile.model_headers,
    )


@pytest.hookimpl(tryfirst=True)
def pytest_sessionstart(session: pytest.Session) -> None:
    """The preflight, on the controller, before xdist brings up its workers."""
    config = session.config
    if hasattr(config, "workerinput") or config.getoption("--no-preflight"):
        return
    if not config.getoption("--target-url"):
        return
    target = make_target(config)
    try:
        result = run_preflight(
            target,
            config.getoption("--mock-url"),
            _profile(config),
            config.getoption("--mock-control-token"),
        )
    finally:
        target.close()
    if result.ok:
        return
    directory = config.getoption("--conformance-report")
    if directory:
        write_reports(
            not_judged_results(
                "preflight failed", result.paragraph(), report_options(config), result.tests()
            ),
            Path(directory),
        )
    pytest.exit(result.paragraph(), returncode=ExitCode.PREFLIGHT)


class RunGuard:
    """Stops a run that can no longer judge anything: too many timeouts in a row, or --max-duration.

    Each process (the controller, or every xdist worker) keeps its own count: a worker stops itself,
    so the tests queued on it do not each wait out the timeout, and xdist then stops the others.
    """

    def __init__(self, config: pytest.Config) -> None:
        self.max_timeouts: int = config.getoption("--max-timeouts")
        limit: float = config.getoption("--max-duration")
        workerinput = getattr(config, "workerinput", None)
        if workerinput is not None:
            self.deadline: float | None = workerinput.get("auriko_deadline")
        else:
            self.deadline = time.time() + limit if limit else None
        self.in_a_row = 0

    @pytest.hookimpl(optionalhook=True)
    def pytest_configure_node(self, node: Any) -> None:
        """xdist: the workers share the controller's deadline."""
        node.workerinput["auriko_deadline"] = self.deadline

    @pytest.hookimpl(tryfirst=True)
    def pytest_runtest_setup(self, item: pytest.Item) -> None:
        if self.deadline is not None and time.time() > self.deadline:
            item.session.shouldstop = "--max-duration reached"
            pytest.skip("not run: --max-duration reached")

    def timed_out(self, item: pytest.Item, exc: TargetTimeout) -> None:
        self.in_a_row += 1
        if self.max_timeouts and self.in_a_row >= self.max_timeouts:
            item.session.shouldstop = (
                f"the target timed out in {self.in_a_row} tests in a row (last: {exc}); "
                "stopped early (--max-timeouts)"
            )

    def answered(self) -> None:
        self.in_a_row = 0


class QuietDistStatus:
    """xdist prints its status line on every start-up step when the console is not a terminal (a CI
    log): "bringing up nodes..." twice and more. Print each distinct line once."""

    @pytest.hookimpl(trylast=True)
    def pytest_sessionstart(self, session: pytest.Session) -> None:
        reporter = session.config.pluginmanager.get_plugin("terminaldistreporter")
        if reporter is None or not hasattr(reporter, "ensure_show_status"):
            return
        shown: set[str] = set()
        original = reporter.ensure_show_status

        def once() -> None:
            line = reporter.getstatus()
            if line not in shown:
                shown.add(line)
                original()

        reporter.ensure_show_status = once


def stop_reason(session: pytest.Session) -> str | None:
    """Why the run stopped early (xdist keeps it on its session plugin), or None."""
    dsession = session.config.pluginmanager.getplugin("dsession")
    for reason in (getattr(dsession, "shouldstop", None), session.shouldstop):
        if isinstance(reason, str) and reason:
            return reason
    return None


def report_options(config: pytest.Config) -> dict[str, Any]:
    """The options a report shows: header values stay out (they may be credentials)."""
    shown = {o.flag.lstrip("-"): config.getoption(o.in_pytest) for o in (*options.TARGET, *options.SUITES)}
    shown.pop("api-key", None)
    shown.pop("mock-control-token", None)
    shown["header"] = [line.partition(":")[0] for line in shown.get("header") or []]
    return shown


# --------------------------------------------------------------------------------------------------
# Fixtures
# --------------------------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def profile(pytestconfig: pytest.Config) -> TargetProfile:
    path = pytestconfig.getoption("--target-profile")
    return load_profile(Path(path) if path else None)


@pytest.fixture(scope="session")
def target(pytestconfig: pytest.Config) -> Iterator[Target]:
    url = pytestconfig.getoption("--target-url")
    if not url:
        pytest.skip("no target: pass --target-url, or run `auriko-conformance run` to start the reference")
    client = make_target(pytestconfig)
    yield client
    client.close()


@pytest.fixture(scope="session")
def mocks(pytestconfig: pytest.Config) -> Iterator[Mocks]:
    url = pytestconfig.getoption("--mock-url")
    if not url:
        pytest.skip(NOT_CLAIMED + "needs --mock-url (the mock providers the target uses upstream)")
    client = Mocks(url, control_token=pytestconfig.getoption("--mock-control-token"))
    yield client
    client.close()


@pytest.fixture
def tag(request: pytest.FixtureRequest) -> str:
    """A unique correlation tag for this test's requests (see suites.target.tag_body)."""
    return new_tag(request.node.name[:24].replace("[", "-").replace("]", ""))


@dataclass(frozen=True, slots=True)
class Block:
    """A requirement this test could not judge, and the requirements whose failure explains why."""

    requirement: str
    reason: str
    roots: tuple[str, ...] = ()


@dataclass(slots=True)
class Judge:
    """Runs checks on exchanges and decides the verdict from the requirements' levels."""

    node: pytest.Item
    claims: frozenset[str] | None = None
    #: the run's --level: checks of requirements above it are not judged (an OpenAI-only target run
    #: at `core` is never held to an Auriko rule, D-092)
    level: str = "full"
    findings: list[Finding] = field(default_factory=list)
    evidence: list[dict[str, Any]] = field(default_factory=list)
    #: requirements whose checks ran in this test (passing or not): a check that ran is evidence
    checked: set[str] = field(default_factory=set)
    #: requirements whose checks applied but were left out because the target does not claim a feature
    unclaimed: set[str] = field(default_factory=set)
    #: requirements whose precondition did not hold, with the root cause that blocked them
    blocked: list[Block] = field(default_factory=list)
    #: root causes already named per exchange (by id), so one refusal is attributed once
    _roots: dict[int, tuple[str, ...]] = field(default_factory=dict)
    #: every finding kept with the exchange it was found on (by id), and the catch-all findings that a
    #: specific rule may own (with their owners): `settle` decides at the test's end
    _recorded: list[tuple[Finding, int]] = field(default_factory=list)
    _deferrable: list[tuple[Finding, int, tuple[str, ...], Context]] = field(default_factory=list)
    #: the requirements whose checks judged each exchange (by id): `settle` judges a place's owner where
    #: a rule read that place and the owner was not judged yet
    _judged_on: dict[int, set[str]] = field(default_factory=dict)
    #: requirements whose findings were restated under a general rule (`Restated`), with those rules
    _restated: dict[str, set[str]] = field(default_factory=dict)
    #: the exchanges findings were recorded on (by id), for `settle` to ask whether each was readable
    _exchanges: dict[int, Exchange] = field(default_factory=dict)
    #: this test's upstream requests by tag, when the run has the mocks (`settle` reads refusals in them)
    journal_of: Callable[[str], list[dict[str, Any]]] | None = None
    _refusals_judged: bool = False
    #: whether a block stopped the test, and the roots of those that did (`blocked_rest`)
    _stopped: bool = False
    _stop_roots: set[str] = field(default_factory=set)
    #: what the target did, per requirement, shown on the report's row whatever the verdict (e.g. which
    #: provider a routing strategy picked)
    observations: list[dict[str, str]] = field(default_factory=list)

    def __call__(
        self, exchange: Exchange, context: Context | None = None, *, only: list[str] | None = None
    ) -> list[Finding]:
        """Apply the checks (all that apply, or the named ones); MUST findings fail the test at its end."""
        context = context or Context(request=exchange.request_body or {})
        if context.claims is None:
            context.claims = self.claims
        self.unclaimed.update(
            c.requirement
            for c in unclaimed_checks(exchange, only, context.claims, context)
            if in_scope(c.requirement, self.level)
        )
        judged: list[tuple[Check, list[Finding], bool]] = []
        for chk in select_checks(exchange, only, context.claims, context):
            if not in_scope(chk.requirement, self.level):
                continue
            try:
                judged.append((chk, *chk.judge(exchange, context)))
            except Blocked as blocked:  # an error where an answer was due has a root cause; else none known
                roots = blocked.roots or (self.attribute(exchange) if exchange.status != 200 else ())
                self.block(chk.requirement, str(blocked), roots, stops=not blocked.roots)
        self._settle_judged(exchange, context, judged)
        return [f for _, findings, _ in judged for f in findings]

    def _settle_judged(
        self, exchange: Exchange, context: Context, judged: list[tuple[Check, list[Finding], bool]]
    ) -> None:
        """Record what `judged` checks found on `exchange`: a `Restated` finding under the rule it names
        (when the run judges that rule), the rest under their own; note which rules judged the exchange
        (`_judge_owners` asks) and which findings sit at a place another rule owns (`settle` decides)."""
        found: list[Finding] = []
        on = self._judged_on.setdefault(id(exchange), set())
        for chk, findings, applied in judged:
            if applied:
                self.checked.add(chk.requirement)
                on.add(chk.requirement)
            for i, f in enumerate(findings):
                owner = f.message.owner if isinstance(f.message, Restated) else chk.requirement
                if owner != chk.requirement and in_scope(owner, self.level):
                    findings[i] = Finding(owner, f.check, f.message)
                    self.checked.add(owner)
                    self._restated.setdefault(chk.requirement, set()).add(owner)
            found.extend(findings)
            self._may_defer(chk, findings, exchange, context)
        self.record(found, exchange)

    def _may_defer(self, chk: Check, findings: list[Finding], exchange: Exchange, context: Context) -> None:
        """Note the findings of a catch-all at places a specific rule owns (`settle` decides)."""
        if chk.defers:
            self._deferrable.extend(
                (f, id(exchange), owners, context)
                for f in findings
                if isinstance(f.message, Located) and (owners := owners_of(chk.defers, f.message.path))
            )

    def _judge_owners(self) -> None:
        """Judge each owner of a place a rule found a defect at, on that exchange and with that rule's
        context, when no check of the owner judged it yet: the owner's verdict there decides whether the
        defect is its (it fails) or stays the reading rule's (it passes), whatever the test chose to judge
        (a suffix test that judged only its own check still sees META-001 take a missing report).
        Owners judged here can defer in turn, so this runs until nothing new is judged."""
        registry = all_checks()
        done = 0
        while done < len(self._deferrable):
            _, key, owners, context = self._deferrable[done]
            done += 1
            exchange = self._exchanges.get(key)
            if exchange is None or owners == ANY_UPSTREAM_RULE:
                continue
            on = self._judged_on.setdefault(key, set())
            wanted = set(owners) - on
            on.update(wanted)  # once per exchange, whatever the verdict
            kinds = applicable(exchange)
            names = [name for name, c in registry.items() if c.requirement in wanted and c.applies in kinds]
            if not names:
                continue
            judged = []
            for chk in select_checks(exchange, names, context.claims, context):
                if not in_scope(chk.requirement, self.level):
                    continue
                try:
                    judged.append((chk, *chk.judge(exchange, context)))
                except Blocked:
                    continue  # the owner has no subject here: the reading rule keeps its finding
            self._settle_judged(exchange, context, judged)

    def settle(self) -> None:
        """At the test's end, leave each catch-all finding at a place a specific rule owns to that rule,
        when the rule failed on the same exchange for a reason of its own (one defect, one finding; any
        order of judging). A catch-all left with nothing reads blocked by those rules, never pass."""
        refused = {} if self._refusals_judged else self._refusals()
        self._refusals_judged = True
        self._judge_readers()
        self._judge_owners()
        deferrable = {id(f) for f, *_ in self._deferrable}
        firm: dict[int, set[str]] = {}
        for finding, key in self._recorded:
            if id(finding) not in deferrable:
                firm.setdefault(key, set()).add(finding.requirement)
        dropped: set[int] = set()
        owners_of_dropped: dict[str, set[str]] = {}
        for finding, key, owners, _ in self._deferrable:
            if owners == ANY_UPSTREAM_RULE:
                owners = tuple(upstream_rules() - {finding.requirement})
            took = set(owners) & firm.get(key, set())
            if took:
                dropped.add(id(finding))
                owners_of_dropped.setdefault(finding.requirement, set()).update(took)
        # An answer the client cannot read for what it is (suites/checks/readable.py): every rule that read
        # its body found nothing true in it, so the rule that failed on its framing is the one finding (what
        # reached the provider, and the headers, stay readable: their rules keep their findings). And an
        # answer a provider's refusal made: the test's own assertions about that answer are left to the
        # translation rule that explains the refusal (a check's reading of the request sent stays its own).
        probes = upstream_rules()
        for key, exchange in self._exchanges.items():
            unreadable = set(unreadable_answer(exchange)) & firm.get(key, set())
            refusal = set(refused.get(key, ())) & firm.get(key, set())
            for finding, at in self._recorded if unreadable or refusal else ():
                status = isinstance(finding.message, Located) and finding.message.path == STATUS
                if at != key or reads_headers_only(finding.requirement):
                    continue
                # the status line is readable whatever the body is; a refused request's status is not
                # the test's finding when a translation rule explains the refusal
                if unreadable and not status and finding.requirement not in unreadable | probes:
                    took = unreadable
                elif refusal and finding.requirement not in refusal and finding.check == self.node.name:
                    took = refusal
                else:
                    continue
                dropped.add(id(finding))
                owners_of_dropped.setdefault(finding.requirement, set()).update(took)
        self._deferrable.clear()
        for requirement, owners in self._restated.items():
            owners_of_dropped.setdefault(requirement, set()).update(owners)
        self._restated = {}
        if not dropped and not owners_of_dropped:
            return
        self.findings = [f for f in self.findings if id(f) not in dropped]
        left = {f.requirement for f in self.findings}
        for requirement, owners in owners_of_dropped.items():
            if requirement not in left:
                reason = "its findings are at places specific rules own, and those rules failed there"
                self.block(requirement, reason, tuple(sorted(owners)), stops=False)
        for entry in self.evidence:
            entry["requirements"] = [r for r in entry["requirements"] if r in left]
        self.evidence = [entry for entry in self.evidence if entry["requirements"]]

    def block(
        self, requirement: str, reason: str, roots: tuple[str, ...] = (), *, stops: bool = True
    ) -> None:
        """`requirement` could not be judged in this test because of `roots` (none known: a missing
        observation, e.g. an empty journal). A requirement is never blocked by itself: it failed.
        `stops`: the test could not go on (an answer that never came), so what it never reached is
        blocked too (`blocked_rest`); a rule that could not read one subject (D-146) stops nothing."""
        if requirement not in roots:
            self.blocked.append(Block(requirement, reason, roots))
            if stops:
                self._stop_roots.update(roots)
                self._stopped = True

    def attribute(
        self,
        exchange: Exchange,
        upstream: Context | None = None,
        journal: Sequence[Mapping[str, Any]] = (),
        only: Sequence[str] | None = None,
    ) -> tuple[str, ...]:
        """The requirements that explain why a chat request was not answered, each judged once.

        With what the upstream received (`upstream`, a context carrying the journal entries), the checks
        that judge only the upstream request run even though the client got an error: a gateway that left
        out a field the provider requires fails the rule that states the field. When none names a cause,
        the refusal itself is the finding, against "a valid request is answered" (`ANSWERED`), with
        what was sent and received as evidence. `only` limits the probes to the named checks (a routing
        scenario makes one rule observable; its family's other rows share the body).
        """
        key = id(exchange)
        if key in self._roots:
            return self._roots[key]
        if upstream is None and self.journal_of is not None and (tag := tag_of(exchange.request_body)):
            # the test passed no journal: read it, so a provider's refusal still names its rule
            journal = journal or self.journal_of(tag)
            upstream = refused_request(exchange.request_body or {}, journal)
        roots = self._probe(exchange, upstream, only) if upstream is not None else ()
        if not roots and unstaged(exchange) is None:
            self.require(ANSWERED, False, about_status(_refusal(exchange, journal)), exchange)
            roots = (ANSWERED,)
        self._roots[key] = roots
        return roots

    def failed_on(self, exchange: Exchange) -> set[str]:
        """The requirements with a finding recorded on `exchange` so far."""
        return {f.requirement for f, at in self._recorded if at == id(exchange)}

    def explained(self, exchange: Exchange, upstream: Context) -> tuple[str, ...]:
        """The translation rules that explain a provider's refusal of what the gateway sent (`upstream`),
        judged on it once; () when none does: the refusal was the one the scenario staged, not a root
        cause (unlike `attribute`, no refusal is held against REQ-027 here)."""
        key = id(exchange)
        if key not in self._roots:
            roots = self._probe(exchange, upstream)
            if not roots:
                return ()
            self._roots[key] = roots
        return self._roots[key]

    def _probe(
        self, exchange: Exchange, upstream: Context, only: Sequence[str] | None = None
    ) -> tuple[str, ...]:
        """Run the upstream-side checks (or the named ones) on what the upstream received; the rules
        that failed."""
        if upstream.claims is None:
            upstream.claims = self.claims
        registry = all_checks()
        candidates = [registry[name] for name in only] if only is not None else registry.values()
        probes = [
            c
            for c in candidates
            if c.upstream_side and is_claimed(c, upstream.claims) and in_scope(c.requirement, self.level)
        ]
        found = []
        for probe in probes:
            findings = probe.judge(exchange, upstream)[0]
            self._may_defer(probe, findings, exchange, upstream)
            found.extend(findings)
        self.checked.update(f.requirement for f in found)
        self.record(found, exchange)
        # a finding another rule may own (a "the request failed" clause, a field that rule requires) is no
        # root of the refusal while a firm one explains it
        deferred = {id(f) for f, *_ in self._deferrable}
        causes = [f for f in found if id(f) not in deferred] or found
        return tuple(sorted({f.requirement for f in causes}))

    def _judge_readers(self) -> None:
        """On each exchange with findings that cannot be read for what it is (readable.py), judge the rule
        that says so when the test did not: the other findings on it are then left to that rule."""
        found = {key: {f.requirement for f, at in self._recorded if at == key} for key in self._exchanges}
        registry = all_checks()
        for key, exchange in list(self._exchanges.items()):
            readers = set(unreadable_answer(exchange))
            if readers and not readers & found[key]:
                self(exchange, only=[name for name, c in registry.items() if c.requirement in readers])

    def _refusals(self) -> dict[int, tuple[str, ...]]:
        """The exchanges with findings that failed because a provider refused what the gateway sent, and
        the translation rules the refused request breaks (judged here on the journal): a test's own rule
        that expected another answer had its precondition broken by them (one defect, one finding).
        Exchanges the test attributed itself, and refusals no rule explains, are left as they are."""
        if self.journal_of is None:
            return {}
        found: dict[int, tuple[str, ...]] = {}
        for key, exchange in list(self._exchanges.items()):
            if key in self._roots or exchange.status < 400 or not exchange.url.endswith(CHAT_PATH):
                continue
            tag = tag_of(exchange.request_body)
            journal = self.journal_of(tag) if tag else []
            refused = refused_request(exchange.request_body or {}, journal) if journal else None
            if refused is not None and (roots := self._probe(exchange, refused)):
                found[key] = roots
        return found

    def blocked_rest(self, requirements: list[str]) -> None:
        """After a blocked precondition, the test's other requirements it never reached are blocked too,
        by the root causes attributed (also when the precondition's own requirement was the root: a
        routing rule that gave up fails, and what needed the answer is blocked by it)."""
        if not self._stopped and not self._roots:
            return
        attributed = {r for roots in self._roots.values() for r in roots}
        roots = tuple(sorted(self._stop_roots | attributed))
        judged = self.checked | {f.requirement for f in self.findings} | {b.requirement for b in self.blocked}
        for requirement in requirements:
            if requirement in judged:
                continue
            if _unclaimed_requirement(requirement, self.claims):
                self.unclaimed.add(requirement)  # never judged on this target, blocked or not
            else:
                self.block(requirement, "the test stopped at a blocked precondition", roots)

    def record(self, found: list[Finding], exchange: Exchange | None = None) -> None:
        """Keep findings; the test goes on so that every requirement it covers is judged, and fails at
        its end if any finding is against a MUST (see `pytest_runtest_call`)."""
        self.findings.extend(found)
        self._recorded.extend((f, id(exchange)) for f in found)
        if exchange is not None and found:
            self._exchanges[id(exchange)] = exchange
        if exchange is not None and found:
            requirements = sorted({f.requirement for f in found})
            self.evidence.append(
                {"test": self.node.nodeid, "requirements": requirements, **exchange.evidence()}
            )

    @property
    def must_failures(self) -> list[Finding]:
        return [f for f in self.findings if _level(f.requirement) == "MUST"]

    def observe(self, requirement: str, text: str) -> None:
        """Note what the target did for `requirement`; the report shows it on the row, pass or fail."""
        self.observations.append({"requirement": requirement, "text": text})

    def require(self, requirement: str, ok: bool, message: str, exchange: Exchange | None = None) -> None:
        """A one-off assertion bound to a requirement, judged like a check finding (within --level)."""
        if not in_scope(requirement, self.level):
            return
        self.checked.add(requirement)
        if not ok:
            self.record([Finding(requirement, self.node.name, message)], exchange)


#: how a mock provider starts its 400 for a test directive it cannot follow (mocks/directives.py
#: DirectiveError): the suite's scenario was not staged, which says nothing against the gateway
UNSTAGED_MARK = "invalid mock directive"


def unstaged(exchange: Exchange) -> str | None:
    """The mock's refusal of the test's own directive, when the gateway relayed it (e.g. `tool_calls=1`
    after the gateway dropped the tools): the precondition is unobservable, not refused by the gateway."""
    text = exchange.body.decode("utf-8", "replace")
    at = text.find(UNSTAGED_MARK)
    if exchange.status == 200 or at < 0:
        return None
    return text[at : at + 160].replace('\\"', '"').split('"', 1)[0]


def _unclaimed_requirement(requirement: str, claims: frozenset[str] | None) -> bool:
    """Every check of `requirement` needs a feature the target does not claim (e.g. META-012 needs
    `warnings`): the requirement reads "not claimed" whatever happened to the test."""
    checks = [c for c in all_checks().values() if c.requirement == requirement]
    return bool(checks) and not any(is_claimed(c, claims) for c in checks)


def _refusal(exchange: Exchange, journal: Sequence[Mapping[str, Any]]) -> str:
    """What the target answered instead of an answer, and what the journal says the upstream did."""
    error = exchange.error or {}
    said = (
        f" {error.get('code')!r}: {str(error.get('message'))[:160]}"
        if error
        else f": {exchange.excerpt(160)}"
    )
    message = f"a valid request was answered HTTP {exchange.status}{said}"
    refused = refusals(journal)
    if refused:
        last = refused[-1]
        message += (
            f" (upstream {last.get('provider')} refused the gateway's request with {last.get('status')})"
        )
    return message


def in_scope(requirement: str, level: str) -> bool:
    """Whether a requirement belongs to the run's level (`core` < `auriko` < `full`)."""
    catalogue = load_catalogue()
    scope = catalogue.get(requirement).scope if requirement in catalogue else "core"
    return LEVELS.index(scope) <= LEVELS.index(level)


def _level(requirement: str) -> str:
    catalogue = load_catalogue()
    return catalogue.get(requirement).level if requirement in catalogue else "MUST"


@pytest.fixture
def judge(request: pytest.FixtureRequest, profile: TargetProfile) -> Judge:
    judge = Judge(request.node, claims=profile.claims, level=request.config.getoption("--level"))
    if request.config.getoption("--mock-url"):
        mocks: Mocks = request.getfixturevalue("mocks")
        judge.journal_of = lambda tag: mocks.settled_journal(tag, wait_s=0.5)
    request.node.stash[_JUDGE_KEY] = judge
    return judge


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item: pytest.Item) -> Iterator[None]:
    """After the test body: fail it when its judge holds MUST findings (SHOULD/MAY only inform)."""
    guard: RunGuard = item.config.pluginmanager.get_plugin("auriko-conformance-run-guard")
    try:
        result = yield
    except TargetTimeout as exc:
        guard.timed_out(item, exc)
        ids = _marked_requirements(item)
        if not ids:
            pytest.fail(str(exc), pytrace=False)
        # one finding, on the requirement the test was judging: there is no answer for checks to read
        finding = Finding(ids[0], "timeout", f"expected an answer within the timeout, got none: {exc}")
        item.stash[_TIMEOUT_KEY] = finding
        pytest.fail(str(finding), pytrace=False)
    guard.answered()
    judge = item.stash.get(_JUDGE_KEY, None)
    if judge is not None:
        judge.settle()
    if judge is not None and judge.must_failures:
        pytest.fail(failure_message(judge), pytrace=False)
    return result


_JUDGE_KEY = pytest.StashKey[Judge]()
_TIMEOUT_KEY = pytest.StashKey[Finding]()


def failure_message(judge: Judge) -> str:
    """The test's failure text (JUnit's message): its MUST findings grouped by requirement and normalised
    message, root causes first, then what they blocked."""
    roots = {r for b in judge.blocked for r in b.roots}
    groups = group_findings(judge.must_failures)
    groups.sort(key=lambda g: (g.requirement not in roots, g.requirement))
    lines = [str(g) for g in groups]
    lines.extend(
        f"blocked: {b.requirement} by {', '.join(b.roots) or '-'} ({b.reason})"
        for b in judge.blocked
        if b.requirement not in roots
    )
    return "\n".join(lines)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Skip tests above --level, and tests needing features the profile does not claim."""
    level = LEVELS.index(config.getoption("--level"))
    catalogue = load_catalogue()
    path = config.getoption("--target-profile")
    profile = load_profile(Path(path) if path else None)
    for item in items:
        ids = _marked_requirements(item)
        scopes = [LEVELS.index(catalogue.get(i).scope) for i in ids if i in catalogue]
        # the lowest level of its requirements, raised by a `level` marker on the test or its case
        floor = max([min(scopes, default=0), *(LEVELS.index(m.args[0]) for m in item.iter_markers("level"))])
        if floor > level:
            item.add_marker(pytest.mark.skip(reason=f"above --level {LEVELS[level]}"))
            continue
        for marker in item.iter_markers("needs"):
            missing = [f for f in marker.args if not profile.claims_feature(f)]
            if missing:
                item.add_marker(pytest.mark.skip(reason=NOT_CLAIMED + ", ".join(missing)))
                break
        _skip_without_packages(item)


def _skip_without_packages(item: pytest.Item) -> None:
    """A test whose judging needs a package that is not installed says so in its row."""
    for marker in item.iter_markers("needs_package"):
        missing = [name for name in marker.args if importlib.util.find_spec(name) is None]
        if missing:
            names = ", ".join(missing)
            item.add_marker(
                pytest.mark.skip(reason=f"not judged: missing Python package {names} (pip install {names})")
            )
            return


def _marked_requirements(item: pytest.Item) -> list[str]:
    ids: list[str] = []
    for marker in item.iter_markers("requirement"):
        ids.extend(marker.args)
    return ids


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[None]:
    outcome = yield
    report: pytest.TestReport = outcome.get_result()
    if report.when == "call" or (report.when == "setup" and report.skipped):
        judge = item.stash.get(_JUDGE_KEY, None)
        if judge is not None and report.when == "call":
            judge.settle()  # already done unless the test body raised
            judge.blocked_rest(_marked_requirements(item))
            for block in judge.blocked:  # JUnit shows them as properties of the test case
                report.user_properties.append(
                    ("blocked", f"{block.requirement} by {', '.join(block.roots) or '-'}")
                )
        timeout = item.stash.get(_TIMEOUT_KEY, None)
        findings = [*(judge.findings if judge else []), *([timeout] if timeout else [])]
        record = {
            "requirements": _marked_requirements(item),
            "findings": [
                {
                    "requirement": f.requirement,
                    "check": f.check,
                    "message": f.message,
                    "level": _level(f.requirement),
                }
                for f in findings
            ],
            "evidence": judge.evidence[:3] if judge else [],
            "checked": sorted(judge.checked) if judge else [],
            "unclaimed": sorted(judge.unclaimed - judge.checked) if judge else [],
            "blocked": [
                {"requirement": b.requirement, "reason": b.reason, "roots": list(b.roots)}
                for b in (judge.blocked if judge else [])
            ],
            "observations": judge.observations if judge else [],
        }
        # user_properties travel from xdist workers to the controller.
        report.user_properties.append((_USER_PROPERTY, orjson.dumps(record).decode()))


# --------------------------------------------------------------------------------------------------
# Results collection and report writing (controller only)
# --------------------------------------------------------------------------------------------------


class ResultCollector:
    def __init__(self, config: pytest.Config) -> None:
        self.config = config
        self.started = time.time()
        self.tests: list[dict[str, Any]] = []
        #: what became of a fuzz run found in the report directory (D-135), said at the end
        self.fuzz_note: str | None = None

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        data = next((value for name, value in report.user_properties if name == _USER_PROPERTY), None)
        if data is None:
            if report.when == "call" or (report.failed and report.when != "teardown"):
                data = orjson.dumps(
                    {"requirements": [], "findings": [], "evidence": [], "checked": []}
                ).decode()
            else:
                return
        record = orjson.loads(data)
        outcome = report.outcome
        reason = ""
        if report.skipped:
            reason = _skip_reason(report)
            outcome = "not_claimed" if reason.startswith(NOT_CLAIMED) else "skipped"
        elif report.failed:
            reason = _failure_text(report)
        self.tests.append(
            {
                "nodeid": report.nodeid,
                "outcome": outcome,
                "reason": reason,
                "duration_s": round(report.duration, 4),
                **record,
            }
        )

    @pytest.hookimpl(trylast=True)  # after junitxml has written junit.xml, so the fuzz suite joins it
    def pytest_sessionfinish(self, session: pytest.Session, exitstatus: int) -> None:
        directory = Path(self.config.getoption("--conformance-report"))
        results = build_results(
            self.tests, options=report_options(self.config), started=self.started, finished=time.time()
        )
        stopped = stop_reason(session)
        if stopped:
            results["harness"] = {"stopped": stopped, "exit_code": int(ExitCode.STOPPED)}
        # a fuzz run of the same target and session joins the results before they are written (D-135)
        self.fuzz_note = fold_saved_fuzz_run(results, directory)
        write_reports(results, directory)

    def pytest_terminal_summary(self, terminalreporter: Any) -> None:
        """Said after the progress lines (the session's end comes before the terminal's summary)."""
        if self.fuzz_note:
            terminalreporter.write_line(self.fuzz_note)


def _skip_reason(report: pytest.TestReport) -> str:
    longrepr = report.longrepr
    if isinstance(longrepr, tuple) and len(longrepr) == 3:
        return str(longrepr[2]).removeprefix("Skipped: ")
    return str(longrepr or "")


def _failure_text(report: pytest.TestReport) -> str:
    """The failure's text without xdist's `[gw0] linux -- Python ...` header line."""
    lines = (report.longreprtext or "").splitlines()
    if lines and lines[0].startswith("[gw"):
        lines = lines[1:]
    return "\n".join(lines)[-3000:]
