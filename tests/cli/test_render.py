"""render.py: pure API JSON -> text."""

from nats_cli import render, render_consumer


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
    assert render_consumer.deliver_policy(by_seq) == "From Sequence 10"
    assert render_consumer.deliver_policy({"deliver_policy": "last_per_subject"}) == "Last Per Subject"
    assert render_consumer.deliver_policy({"deliver_policy": "new"}) == "New"


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


def test_a_section_titled_empty_continues_after_a_blank_line():
    text = render.kv_block(None, [("One", [("A", "1")]), ("", [("B", "2")]), (None, [("C", "3")])])
    assert text == "One:\n\n  A: 1\n\n  B: 2\n  C: 3"


def test_replication_rows_show_each_mirror_and_source_setting():
    start = "2024-01-31T12:00:00Z"
    cfg = {
        "mirror": {
            "name": "ORDERS",
            "opt_start_seq": 12345,
            "external": {"api": "$JS.hub.API", "deliver": "dlv"},
        },
        "sources": [
            {"name": "Z", "opt_start_time": start, "consumer": {"name": "C", "deliver_subject": "d.C"}},
            {"name": "A", "filter_subject": "a.>"},
        ],
    }
    assert render.replication_rows(cfg) == [
        ("Mirror", "ORDERS, Start Seq: 12,345, API Prefix: $JS.hub.API, Delivery Prefix: dlv"),
        ("Sources", "A"),
        ("", f"Z, Start Time: {render.format_time(start)}, Consumer Name: C (d.C)"),
    ]
    assert render.replication_rows({"subjects": ["x"]}) == []


def test_source_information_as_natscli_shows_it():
    info = {
        "config": {"name": "ALL", "sources": [{"name": "A"}, {"name": "B"}]},
        "created": "2024-01-31T12:00:00Z",
        "sources": [
            {"name": "A", "lag": 1234, "active": 512_000_000, "filter_subject": "a.new"},
            {"name": "B", "lag": 0, "active": -1, "external": {"api": "$JS.hub.API", "deliver": "dlv"},
             "subject_transforms": [{"src": "b.*", "dest": "all.{{wildcard(1)}}"}, {"src": "c", "dest": ""}],
             "error": {"code": 503, "err_code": 10077, "description": "stream source unavailable"}},
        ],
        "state": {"messages": 1, "bytes": 10, "first_seq": 1, "last_seq": 1, "consumer_count": 0},
    }  # fmt: skip
    text = render.stream_info(info)
    replication = text[text.index("Replication:") : text.index("State:")]
    assert replication == (
        "Replication:\n\n"
        "                         Sources: A\n"
        "                                  B\n\n"
        "Source Information:\n\n"
        "                     Stream Name: A\n"
        "                  Subject Filter: a.new\n"
        "                             Lag: 1,234\n"
        "                       Last Seen: 512ms\n\n"
        "                     Stream Name: B\n"
        "  Subject Filters and Transforms: b.* to all.{{wildcard(1)}}\n"
        "                                  c untransformed\n"
        "                             Lag: 0\n"
        "                       Last Seen: never\n"
        "                 Ext. API Prefix: $JS.hub.API\n"
        "            Ext. Delivery Prefix: dlv\n"
        "                           Error: stream source unavailable\n\n"
    )
    assert "Mirror" not in text


def test_mirror_information_and_state_only():
    info = {
        "config": {"name": "COPY", "mirror": {"name": "ORDERS"}},
        "mirror": {"name": "ORDERS", "lag": 0, "active": 2_000_000,
                   "subject_transforms": [{"src": "ORDERS.new", "dest": "NEW"}]},
        "state": {"messages": 3},
    }  # fmt: skip
    rows = render.source_info_rows(info["mirror"])
    assert rows == [("Stream Name", "ORDERS"), ("Subject Filter and Transform", "ORDERS.new to NEW"),
                    ("Lag", "0"), ("Last Seen", "2ms")]  # fmt: skip
    text = render.stream_info(info)
    assert f"Replication:\n\n  {'Mirror'.rjust(28)}: ORDERS\n\nMirror Information:\n" in text
    state = render.stream_state(info)
    assert state.startswith("State for Stream COPY\n\nMirror Information:\n\n")
    assert "Stream Name: ORDERS" in state and "Messages: 3" in state


def test_replication_report_rows():
    infos = [
        {"config": {"name": "ORDERS"}, "state": {"bytes": 1}},
        {"config": {"name": "ALL"}, "state": {"bytes": 30},
         "sources": [{"name": "ORDERS", "lag": 2, "active": 1_500_000_000, "filter_subject": "ORDERS.new"},
                     {"name": "EVENTS", "lag": 0, "active": -1, "external": {"api": "$JS.hub.API"},
                      "subject_transforms": [{"src": "e.>", "dest": "all.>"}, {"src": "f", "dest": ""}],
                      "error": {"description": "stream not found"}}]},
        {"config": {"name": "COPY"}, "state": {"bytes": 20},
         "mirror": {"name": "ORDERS", "lag": 1000, "active": 0}},
    ]  # fmt: skip
    table = render.replication_report(infos)
    assert table is not None and table.title == "Replication Report"
    assert table.headers == ["Stream", "Kind", "API Prefix", "Source Stream", "Filters and Transforms",
                             "Active", "Lag", "Error"]  # fmt: skip
    assert table.rows == [
        ["COPY", "Mirror", "", "ORDERS", "", "never", "1,000", ""],
        ["ALL", "Source", "$JS.hub.API", "EVENTS", "e.> to all.>, f untransformed", "never", "0",
         "stream not found"],
        ["ALL", "Source", "", "ORDERS", "ORDERS.new untransformed", "1.50s", "2", ""],
    ]  # fmt: skip
    assert render.replication_report(infos[:1]) is None
