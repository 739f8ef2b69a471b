"""`vpp serve` logs an exception's traceback as Python prints it: a rich layout of one took
seconds under load while holding the interpreter lock, stalling every request."""

from __future__ import annotations

import io
from collections.abc import Iterator

import pytest
import structlog

from trading.cli.serve import plain_tracebacks


@pytest.fixture
def events() -> Iterator[io.StringIO]:
    structlog.reset_defaults()
    yield io.StringIO()
    structlog.reset_defaults()


def _failed_submission(out: io.StringIO) -> str:
    log = structlog.wrap_logger(structlog.PrintLogger(out))
    try:
        raise ValueError("bid_id 'a\\x00b': NUL is not stored")
    except ValueError:
        log.exception("submission_failed", tenant="acme")
    return out.getvalue()


def test_the_server_writes_a_failed_submissions_traceback_plainly(events: io.StringIO) -> None:
    plain_tracebacks()
    text = _failed_submission(events)
    assert "submission_failed" in text
    assert "Traceback (most recent call last):" in text
    assert "ValueError: bid_id 'a\\x00b': NUL is not stored" in text
    assert "╭" not in text  # rich's frame
    # and the event's fields as before: key=value, uncoloured where the output is no terminal
    assert "tenant=acme" in text


def test_without_it_structlog_lays_the_traceback_out_with_rich(events: io.StringIO) -> None:
    # what the server did before: the default console renderer hands tracebacks to rich
    assert "╭" in _failed_submission(events)


def test_the_server_leaves_structlogs_shared_default_renderer_as_it_was(
    events: io.StringIO,
) -> None:
    # an earlier in-process `vpp serve` (the CLI tests run several) must not change the
    # renderer every other structlog user in the process gets after a reset
    plain_tracebacks()
    structlog.reset_defaults()
    assert "╭" in _failed_submission(events)
