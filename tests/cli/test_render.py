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
    assert render.compact_duration(306_857) == "306µs"
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


def test_cluster_information_as_natscli_shows_it():
    cluster = {
        "name": "C1", "raft_group": "S-R3F-8gwB5KY1", "leader": "n2",
        "leader_since": "2026-11-28T05:41:02.556051209Z",
        "replicas": [
            {"name": "n3", "current": True, "active": 117_235_000, "peer": "BXScrY9i"},
            {"name": "n1", "current": False, "active": 0, "lag": 1, "peer": "fjFyEjc1"},
            {"name": "n4", "current": False, "offline": True, "active": 75 * 10**9, "lag": 1200},
        ],
    }  # fmt: skip
    rows = render.cluster_rows(cluster, "Cluster Group")
    assert rows[:2] == [("Name", "C1"), ("Cluster Group", "S-R3F-8gwB5KY1")]
    assert rows[2][0] == "Leader" and rows[2][1].startswith("n2 (since ")
    assert rows[3:] == [
        ("Replica", "n1, outdated, not seen, 1 operation behind"),
        ("Replica", "n3, current, seen 117ms ago"),
        ("Replica", "n4, outdated, OFFLINE, seen 1m15s ago, 1,200 operations behind"),
    ]
    assert render.cluster_rows({"leader": "NABC"}, "Cluster Group") == []  # a single server
    info = {"config": {"name": "S"}, "cluster": cluster, "state": {}}
    text = render.stream_info(info)
    assert "\n\nCluster Information:\n\n" in text
    assert text.index("Cluster Information:") < text.index("State:")
