"""render.py: pure API JSON -> text."""

from nats_cli import render


def test_kv_block_aligns_labels_against_the_colon():
    text = render.kv_block(
        "Heading",
        [("First", [("A", "1"), ("Longer label", "2")]), ("Second", [("B", "3")]), ("Empty", [])],
    )
    assert text == (
        "Heading\n\nFirst:\n\n             A: 1\n  Longer label: 2\n\nSecond:\n\n             B: 3"
    )


def test_times_keep_nanoseconds_and_zero_time_is_never():
    assert render.parse_time("2024-05-01T12:00:00.123456789Z").microsecond == 123456
    assert render.parse_time("0001-01-01T00:00:00Z") is None
    assert render.format_time(None) == "never"


def test_compact_durations():
    assert render.compact_duration(512_000_000) == "512ms"
    assert render.compact_duration(12_340_000_000) == "12.34s"
    assert render.compact_duration(303 * 10**9) == "5m3s"
    assert render.compact_duration((86400 + 3723) * 10**9) == "1d1h2m3s"


def test_deliver_policy_words():
    by_seq = {"deliver_policy": "by_start_sequence", "opt_start_seq": 10}
    assert render.deliver_policy(by_seq) == "From Sequence 10"
    assert render.deliver_policy({"deliver_policy": "last_per_subject"}) == "Last Per Subject"
    assert render.deliver_policy({"deliver_policy": "new"}) == "New"


def test_stream_config_rows_show_unlimited_and_seed_retention():
    rows = dict(
        render.stream_config_rows(
            {"name": "X", "subjects": ["a", "b"], "storage": "memory", "retention": "workqueue",
             "max_msgs": -1, "max_age": 0, "max_bytes": 1 << 30, "no_ack": True}
        )
    )  # fmt: skip
    assert rows["Subjects"] == "a, b"
    assert rows["Retention"] == "Memory - Work Queue"
    assert rows["Acknowledgements"] == "false"
    assert rows["Maximum Messages"] == "unlimited"
    assert rows["Maximum Age"] == "unlimited"
    assert rows["Maximum Bytes"] == "1.0 GiB"


def test_account_info_used_of_limit():
    text = render.account_info(
        {"memory": 0, "storage": 147, "streams": 1, "consumers": 2,
         "limits": {"max_memory": int(6.4 * (1 << 30)), "max_storage": -1, "max_streams": -1,
                    "max_consumers": 10}}
    )  # fmt: skip
    assert "     Memory: 0 B of 6.4 GiB" in text
    assert "    Storage: 147 B of unlimited" in text
    assert "    Streams: 1 of unlimited" in text
    assert "  Consumers: 2 of 10" in text
