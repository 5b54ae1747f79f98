"""stream_source.py: `--mirror`/`--source` values and the sub-dialog, with scripted answers."""

from __future__ import annotations

import asyncio

import pytest

from nats_cli import prompts, stream_source
from nats_cli.errors import CliError


def run_dialog(monkeypatch, answers: list, source: dict, mirror: bool) -> tuple[dict, list[str]]:
    """Answer the dialog's questions in order; returns the source and the questions asked."""
    asked: list[str] = []

    async def answer(label, **kw):
        asked.append(label)
        reply = answers.pop(0)
        if kw.get("validate") and reply:
            kw["validate"](reply)
        return reply

    monkeypatch.setattr(prompts, "confirm", answer)
    monkeypatch.setattr(prompts, "text", answer)
    flag = "--mirror" if mirror else "--source"
    result = asyncio.run(stream_source.ask_source(source, flag, mirror))
    assert answers == []
    return result, asked


def test_a_mirror_starts_at_a_sequence_or_a_time_and_imports_from_an_account(monkeypatch):
    answers = [True, "5", False, False, True, "$JS.other.API", "dlv.other"]
    source, asked = run_dialog(monkeypatch, answers, {"name": "O"}, mirror=True)
    assert source == {
        "name": "O",
        "opt_start_seq": 5,
        "external": {"api": "$JS.other.API", "deliver": "dlv.other"},
    }
    assert "Start sequence" in asked and not any(q.startswith("Start time") for q in asked)
    source, asked = run_dialog(
        monkeypatch, [True, "0", "2024:01:31 12:00:00", False, False, False], {"name": "O"}, True
    )
    assert source == {"name": "O", "opt_start_time": "2024-01-31T12:00:00Z"}


def test_every_no_leaves_the_bare_name(monkeypatch):
    source, asked = run_dialog(monkeypatch, [False, False, False, False], {"name": "O"}, mirror=False)
    assert source == {"name": "O"}
    assert asked == [
        'Adjust where the source "O" starts',
        'Filter or transform the subjects of the source "O"',
        'Import the source "O" from another JetStream domain',
        'Import the source "O" from another account',
    ]


def test_start_times_are_utc_in_natscli_or_dashed_form():
    assert stream_source.parse_start_time("2024:01:31 12:00:00") == "2024-01-31T12:00:00Z"
    assert stream_source.parse_start_time("2024-01-31 12:00:00") == "2024-01-31T12:00:00Z"
    with pytest.raises(ValueError, match="use YYYY:MM:DD HH:MM:SS"):
        stream_source.parse_start_time("yesterday")


def test_values_are_names_or_checked_json():
    assert stream_source.parse_source("--source", "ORDERS") == {"name": "ORDERS"}
    assert stream_source.parse_source("--source", ' {"name": "O", "filter_subject": "a"}') == {
        "name": "O", "filter_subject": "a",
    }  # fmt: skip
    with pytest.raises(CliError, match=r"external.deliver: 1 is not of type 'string'"):
        stream_source.parse_source("--source", '{"name": "O", "external": {"deliver": 1}}')
