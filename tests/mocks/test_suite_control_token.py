"""The suite's mocks client sends the control token the mocks require (issue 19 item 12, mocks/README.md)."""

from __future__ import annotations

import httpx
import pytest
from auriko_conformance.mocks.app import create_app
from auriko_conformance.mocks.server import CONTROL_TOKEN_ENV
from auriko_conformance.suites.plugin import report_options
from auriko_conformance.suites.preflight import Preflight, check_mocks
from auriko_conformance.suites.target import Mocks

from auriko_conformance.servers import serving

TOKEN = "s3cret-control"


@pytest.fixture(scope="module")
def guarded_url():
    app = create_app()
    app.state.control_token = TOKEN
    with serving(app) as server:
        yield server.url


@pytest.mark.parametrize("how", ["argument", "environment"])
def test_the_client_sends_the_configured_token(
    guarded_url: str, monkeypatch: pytest.MonkeyPatch, how: str
) -> None:
    if how == "environment":
        monkeypatch.setenv(CONTROL_TOKEN_ENV, TOKEN)
        mocks = Mocks(guarded_url)
    else:
        monkeypatch.delenv(CONTROL_TOKEN_ENV, raising=False)
        mocks = Mocks(guarded_url, control_token=TOKEN)
    try:
        assert mocks.journal("no-such-tag") == []
        assert mocks.providers()
        mocks.reset()
    finally:
        mocks.close()


def test_without_the_token_the_mocks_refuse(guarded_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(CONTROL_TOKEN_ENV, raising=False)
    mocks = Mocks(guarded_url)
    try:
        with pytest.raises(httpx.HTTPStatusError) as caught:
            mocks.journal("no-such-tag")
        assert caught.value.response.status_code == 401
    finally:
        mocks.close()


@pytest.mark.parametrize("token", [None, "wrong-token", TOKEN])
def test_the_preflight_asks_the_guarded_mocks_with_the_token(guarded_url: str, token: str | None) -> None:
    """A missing or wrong token is a set-up mistake the preflight names (not "this is not the mock
    server"); the right one lets the run go ahead."""
    result = Preflight()
    ok = check_mocks(guarded_url, result, token)
    assert ok is (token == TOKEN)
    if token != TOKEN:
        assert result.problem is not None
        assert "control token" in result.problem
        assert "--mock-control-token" in result.problem
        assert ("was refused" if token else "none was sent") in result.problem


def test_the_token_stays_out_of_the_report(monkeypatch: pytest.MonkeyPatch) -> None:
    class Config:
        def getoption(self, name: str) -> object:
            return TOKEN if name == "--mock-control-token" else None

    assert TOKEN not in repr(report_options(Config()))  # type: ignore[arg-type]
