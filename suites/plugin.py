"""The pytest plugin that makes the suites run against any target and report per requirement.

Registered by entry point (`pytest11`), so `pytest --target-url ...` works outside this repository.
It adds the options, the `target` / `mocks` / `profile` / `judge` fixtures, the `requirement` marker,
and, when `--conformance-report DIR` is given, writes `results.json` and `report.html` there.

Verdicts: a check finding against a MUST requirement fails the test; against a SHOULD or MAY
requirement it is recorded as informational and the test passes; a test that needs a feature the
target's profile does not claim is skipped as "not claimed".
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson
import pytest

from suites.checks import Context, Finding, select_checks, unclaimed_checks
from suites.exchange import Exchange
from suites.profile import TargetProfile, load_profile
from suites.requirements import load_catalogue
from suites.target import Mocks, Target, new_tag

NOT_CLAIMED = "not claimed: "
LEVELS = ("core", "auriko", "full")
_USER_PROPERTY = "auriko_conformance"

OPTIONS: tuple[tuple[str, str, str | None, str], ...] = (
    ("--target-url", "AURIKO_TARGET_URL", None, "gateway under test (absent: the embedded reference)"),
    ("--api-key", "AURIKO_API_KEY", None, "API key for the target"),
    ("--mock-url", "AURIKO_MOCK_URL", None, "the mock provider server the target uses upstream"),
    ("--target-profile", "AURIKO_TARGET_PROFILE", None, "YAML profile of the target's models and claims"),
    ("--target-label", "AURIKO_TARGET_LABEL", None, "the target's name in the reports (default: its URL)"),
    ("--level", "AURIKO_LEVEL", "full", "core | auriko | full"),
    ("--conformance-report", "AURIKO_REPORT_DIR", None, "directory for results.json and report.html"),
)


PROFILE_ENV = "AURIKO_TARGET_PROFILE"
_PROFILE_ENV_KEY = pytest.StashKey[str | None]()


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("auriko-conformance", "Auriko chat-completions conformance")
    for flag, env, default, help_text in OPTIONS:
        group.addoption(flag, default=os.environ.get(env, default), help=f"{help_text} [env {env}]")


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "requirement(*ids): requirement IDs a conformance test verifies")
    config.addinivalue_line("markers", "needs(*features): target-profile features the test needs")
    config.addinivalue_line("markers", "fuzz: schemathesis fuzzing of the target (run with -m fuzz)")
    config.addinivalue_line("markers", "slow: takes more than a few seconds")
    level = config.getoption("--level")
    if level not in LEVELS:
        raise pytest.UsageError(f"--level must be one of {', '.join(LEVELS)}, not {level!r}")
    if config.getoption("--conformance-report") and not hasattr(config, "workerinput"):
        config.pluginmanager.register(ResultCollector(config), "auriko-conformance-results")
    # suites/test_fuzz.py fits the contract to the profile's claims when it is imported (D-056), before
    # any fixture can tell it the profile: the option reaches it, and xdist's workers, through the
    # environment, restored when the session ends.
    profile = config.getoption("--target-profile")
    if profile:
        config.stash[_PROFILE_ENV_KEY] = os.environ.get(PROFILE_ENV)
        os.environ[PROFILE_ENV] = str(profile)


def pytest_unconfigure(config: pytest.Config) -> None:
    if _PROFILE_ENV_KEY in config.stash:
        previous = config.stash[_PROFILE_ENV_KEY]
        if previous is None:
            os.environ.pop(PROFILE_ENV, None)
        else:
            os.environ[PROFILE_ENV] = previous


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
    client = Target(url, pytestconfig.getoption("--api-key"))
    yield client
    client.close()


@pytest.fixture(scope="session")
def mocks(pytestconfig: pytest.Config) -> Iterator[Mocks]:
    url = pytestconfig.getoption("--mock-url")
    if not url:
        pytest.skip(NOT_CLAIMED + "needs --mock-url (the mock providers the target uses upstream)")
    client = Mocks(url)
    yield client
    client.close()


@pytest.fixture
def tag(request: pytest.FixtureRequest) -> str:
    """A unique correlation tag for this test's requests (see suites.target.tag_body)."""
    return new_tag(request.node.name[:24].replace("[", "-").replace("]", ""))


@dataclass(slots=True)
class Judge:
    """Runs checks on exchanges and decides the verdict from the requirements' levels."""

    node: pytest.Item
    claims: frozenset[str] | None = None
    findings: list[Finding] = field(default_factory=list)
    evidence: list[dict[str, Any]] = field(default_factory=list)
    #: requirements whose checks ran in this test (passing or not): a check that ran is evidence
    checked: set[str] = field(default_factory=set)
    #: requirements whose checks applied but were left out because the target does not claim a feature
    unclaimed: set[str] = field(default_factory=set)
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
        found: list[Finding] = []
        self.unclaimed.update(c.requirement for c in unclaimed_checks(exchange, only, context.claims))
        for chk in select_checks(exchange, only, context.claims):
            findings, applied = chk.judge(exchange, context)
            if applied:
                self.checked.add(chk.requirement)
            found.extend(findings)
        self.record(found, exchange)
        return found

    def record(self, found: list[Finding], exchange: Exchange | None = None) -> None:
        """Keep findings; the test goes on so that every requirement it covers is judged, and fails at
        its end if any finding is against a MUST (see `pytest_runtest_call`)."""
        self.findings.extend(found)
        if exchange is not None and found:
            self.evidence.append(_evidence(exchange))

    @property
    def must_failures(self) -> list[Finding]:
        return [f for f in self.findings if _level(f.requirement) == "MUST"]

    def observe(self, requirement: str, text: str) -> None:
        """Note what the target did for `requirement`; the report shows it on the row, pass or fail."""
        self.observations.append({"requirement": requirement, "text": text})

    def require(self, requirement: str, ok: bool, message: str, exchange: Exchange | None = None) -> None:
        """A one-off assertion bound to a requirement, judged like a check finding."""
        self.checked.add(requirement)
        if not ok:
            self.record([Finding(requirement, self.node.name, message)], exchange)


def _level(requirement: str) -> str:
    catalogue = load_catalogue()
    return catalogue.get(requirement).level if requirement in catalogue else "MUST"


def _evidence(exchange: Exchange) -> dict[str, Any]:
    return {
        "request": {"method": exchange.method, "url": exchange.url, "body": exchange.request_body},
        "response": {
            "status": exchange.status,
            "headers": dict(exchange.headers),
            "body_excerpt": exchange.excerpt(2000),
        },
    }


@pytest.fixture
def judge(request: pytest.FixtureRequest, profile: TargetProfile) -> Judge:
    judge = Judge(request.node, claims=profile.claims)
    request.node.stash[_JUDGE_KEY] = judge
    return judge


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item: pytest.Item) -> Iterator[None]:
    """After the test body: fail it when its judge holds MUST findings (SHOULD/MAY only inform)."""
    result = yield
    judge = item.stash.get(_JUDGE_KEY, None)
    if judge is not None and judge.must_failures:
        pytest.fail("\n".join(str(f) for f in judge.must_failures), pytrace=False)
    return result


_JUDGE_KEY = pytest.StashKey[Judge]()


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Skip tests above --level, and tests needing features the profile does not claim."""
    level = LEVELS.index(config.getoption("--level"))
    catalogue = load_catalogue()
    path = config.getoption("--target-profile")
    profile = load_profile(Path(path) if path else None)
    for item in items:
        ids = _marked_requirements(item)
        scopes = [LEVELS.index(catalogue.get(i).scope) for i in ids if i in catalogue]
        if scopes and min(scopes) > level:
            item.add_marker(pytest.mark.skip(reason=f"above --level {LEVELS[level]}"))
            continue
        for marker in item.iter_markers("needs"):
            missing = [f for f in marker.args if not profile.claims_feature(f)]
            if missing:
                item.add_marker(pytest.mark.skip(reason=NOT_CLAIMED + ", ".join(missing)))
                break


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
        record = {
            "requirements": _marked_requirements(item),
            "findings": [
                {
                    "requirement": f.requirement,
                    "check": f.check,
                    "message": f.message,
                    "level": _level(f.requirement),
                }
                for f in (judge.findings if judge else [])
            ],
            "evidence": judge.evidence[:3] if judge else [],
            "checked": sorted(judge.checked) if judge else [],
            "unclaimed": sorted(judge.unclaimed - judge.checked) if judge else [],
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
        from suites.fuzz_report import merge_directory
        from suites.report import build_results, write_reports

        directory = Path(self.config.getoption("--conformance-report"))
        options = {flag.lstrip("-"): self.config.getoption(flag) for flag, *_ in OPTIONS}
        results = build_results(self.tests, options=options, started=self.started, finished=time.time())
        write_reports(results, directory)
        merged = merge_directory(directory)
        if merged:
            self.config.get_terminal_writer().line(merged)


def _skip_reason(report: pytest.TestReport) -> str:
    longrepr = report.longrepr
    if isinstance(longrepr, tuple) and len(longrepr) == 3:
        return str(longrepr[2]).removeprefix("Skipped: ")
    return str(longrepr or "")


def _failure_text(report: pytest.TestReport) -> str:
    text = report.longreprtext or ""
    return text[-3000:]
