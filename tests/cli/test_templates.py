"""`pynats str template add|ls|info|rm`: the seed's flow on devserver; one clear line on nats-server,
which no longer has stream templates."""

from __future__ import annotations

import json
from textwrap import dedent

import pytest

from schemas import subjects as S

SEED_TEMPLATE = (
    'str template add CLIENTS --subjects "CLIENT.*" --ack --max-msgs=-1 --max-bytes=-1 --max-age=1y '
    "--storage file --retention limits --max-msg-size 2048 --max-streams 1024 --discard old --defaults"
)

CLIENTS_INFO = dedent("""\
    Information for Stream Template CLIENTS

    Configuration:

                  Subjects: CLIENT.*
          Acknowledgements: true
                 Retention: File - Limits
                  Replicas: 1
          Maximum Messages: -1
             Maximum Bytes: -1
               Maximum Age: 8760h0m0s
      Maximum Message Size: 2048
         Maximum Consumers: -1
           Maximum Streams: 1024

    Managed Streams:

    """)


@pytest.fixture
def dev(server, pynats):
    if server.is_real:
        pytest.skip(
            "nats-server 2.15 has no stream templates (removed from nats-server): see the unsupported test"
        )
    return pynats


def test_the_seeds_template_flow(dev):
    run = dev(SEED_TEMPLATE).ok()
    assert run.err == "Stream Template CLIENTS was created\n\n"
    assert run.out == CLIENTS_INFO + "  No Streams have been defined by this template\n"
    dev("pub CLIENT.acme hello").ok()
    made = dev("str ls -n").ok().out.split()
    assert len(made) == 1 and made[0].endswith("acme")
    assert dev("str template info CLIENTS").ok().out == CLIENTS_INFO + f"    {made[0]}\n"
    assert json.loads(dev(f"str info {made[0]} -j").ok().out)["state"]["messages"] == 1

    assert dev("str template rm CLIENTS -f").ok().err == "Stream Template CLIENTS was deleted\n"
    assert dev("str ls -n").ok().out == ""  # the template's streams go with it
    assert dev("str template ls").ok().err == "No Stream Templates defined\n"


def test_ls_info_json_and_aliases(dev):
    dev(SEED_TEMPLATE).ok()
    dev("str templ add OTHERS --subjects other.* --max-streams 3 --defaults").ok()
    dev("pub other.a x").ok()
    dev("pub other.b x").ok()
    assert dev("str t ls").ok().out == dedent("""\
                         Stream Templates
        ╭─────────┬──────────┬─────────┬─────────────────╮
        │ Name    │ Subjects │ Streams │ Maximum Streams │
        ├─────────┼──────────┼─────────┼─────────────────┤
        │ CLIENTS │ CLIENT.* │       0 │            1024 │
        │ OTHERS  │ other.*  │       2 │               3 │
        ╰─────────┴──────────┴─────────┴─────────────────╯
        """)
    assert dev("str template ls -n").ok().out == "CLIENTS\nOTHERS\n"
    assert json.loads(dev("str template ls -j").ok().out) == ["CLIENTS", "OTHERS"]
    info = json.loads(dev("str template info OTHERS -j").ok().out)
    assert (info["config"]["name"], info["config"]["max_streams"], len(info["streams"])) == ("OTHERS", 3, 2)
    assert info["config"]["config"]["subjects"] == ["other.*"]
    assert "type" not in info


def test_errors(dev):
    assert dev("str template info NOPE").fails().err == (
        "pynats: error: template not found (code 404, err_code 10068)\n"
    )
    assert dev("str template rm NOPE -f").fails().err == (
        "pynats: error: template not found (code 404, err_code 10068)\n"
    )
    run = dev("str template add T --subjects t.* --defaults").fails()
    assert run.err == (
        "pynats: error: Maximum Streams is required: pass --max-streams (cannot prompt without a terminal)\n"
    )
    run = dev("str template add T --subjects t.* --max-streams 5").fails()
    assert run.err.endswith("is required when not running interactively (or use --defaults)\n")
    dev("str template add T --subjects t.* --max-streams 5 --defaults").ok()
    assert dev("str template rm T").fails().err.startswith("pynats: error: cannot ask for confirmation")
    assert dev("str template ls -n").ok().out == "T\n"


@pytest.mark.parametrize(
    ("command", "subject"),
    [
        ("str template ls", S.stream_template_names()),
        ("str template info CLIENTS", S.stream_template_info("CLIENTS")),
        ("str template rm CLIENTS -f", S.stream_template_info("CLIENTS")),
        (SEED_TEMPLATE, S.stream_template_create("CLIENTS")),
    ],
)
def test_a_server_without_templates_gets_one_clear_line(server, pynats, command, subject):
    if not server.is_real:
        pytest.skip("devserver has stream templates")
    run = pynats(f"--timeout 1s {command}").fails()
    assert run.out == ""
    assert run.err == (
        f"pynats: error: the server does not support Stream Templates: no reply on {subject} "
        "(nats-server removed them)\n"
    )
