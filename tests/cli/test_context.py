"""`pynats context`: natscli's own files (same folder, same JSON keys, same selection file)."""

from __future__ import annotations

import json
import os
from textwrap import dedent

import pytest

from nats_cli.contexts import FIELDS

# a context as natscli writes it (jsm.go natscontext: every key, empty strings for unset ones)
NATSCLI_FILE = {
    "description": "written by natscli",
    "url": "nats://demo.nats.io:4222",
    "socks_proxy": "",
    "token": "",
    "user": "foo",
    "password": "bar",
    "creds": "",
    "nkey": "",
    "cert": "",
    "key": "",
    "ca": "",
    "nsc": "",
    "jetstream_domain": "",
    "jetstream_api_prefix": "",
    "jetstream_event_prefix": "",
    "inbox_prefix": "",
    "user_jwt": "",
    "color_scheme": "",
    "tls_first": False,
}


@pytest.fixture
def cli(pynats_offline):
    return pynats_offline


@pytest.fixture
def nats_dir(config_home):
    return os.path.join(config_home, "nats")


def test_add_writes_natscli_files(cli, nats_dir, tmp_path):
    creds = tmp_path / "user.creds"
    creds.write_text("x")
    run = cli(f"context add dev --server nats://a:4222,nats://b:4222 --user u --password p --creds {creds} "
              "--description 'dev cluster'")  # fmt: skip
    path = os.path.join(nats_dir, "context", "dev.json")
    assert run.ok().err == f'Saved context "dev" in {path}\n'
    data = json.loads(open(path).read())
    assert list(data) == list(FIELDS)
    assert (data["url"], data["user"], data["password"], data["creds"], data["description"]) == (
        "nats://a:4222,nats://b:4222", "u", "p", str(creds), "dev cluster",
    )  # fmt: skip
    assert oct(os.stat(path).st_mode & 0o777) == "0o600"
    assert run.out == dedent(f"""\
        NATS Configuration Context "dev"

          Description: dev cluster
          Server URLs: nats://a:4222,nats://b:4222
             Username: u
             Password: *********
          Credentials: {creds} (OK)
        """)
    assert not os.path.exists(os.path.join(nats_dir, "context.txt"))


def test_add_takes_global_options_and_updates_in_place(cli, nats_dir):
    cli("-s nats://global:4222 context add g").ok()
    cli("context add g --description later").ok()
    data = json.loads(open(os.path.join(nats_dir, "context", "g.json")).read())
    assert (data["url"], data["description"]) == ("nats://global:4222", "later")


def test_reads_natscli_files_and_keeps_unknown_keys(cli, nats_dir):
    os.makedirs(os.path.join(nats_dir, "context"))
    path = os.path.join(nats_dir, "context", "ngs.json")
    with open(path, "w") as f:
        json.dump({**NATSCLI_FILE, "future_key": 42}, f)
    with open(os.path.join(nats_dir, "context.txt"), "w") as f:
        f.write("ngs")
    assert cli("context info").ok().out == dedent("""\
        NATS Configuration Context "ngs"

          Description: written by natscli
          Server URLs: nats://demo.nats.io:4222
             Username: foo
             Password: *********
        """)
    assert json.loads(cli("context info ngs -j").ok().out)["future_key"] == 42
    cli("context add ngs --description changed").ok()
    data = json.loads(open(path).read())
    assert (data["future_key"], data["description"], data["user"]) == (42, "changed", "foo")


def test_ls_select_unselect(cli, nats_dir):
    assert cli("context ls").ok().err == "No contexts defined\n"
    cli("context add one --description first -s nats://one").ok()
    cli("context add two -s nats://two --select").ok()
    with open(os.path.join(nats_dir, "context", "notes.txt"), "w") as f:
        f.write("ignored")
    assert open(os.path.join(nats_dir, "context.txt")).read() == "two"
    assert cli("context ls").ok().out == dedent("""\
            Known Contexts
        ╭──────┬─────────────╮
        │ Name │ Description │
        ├──────┼─────────────┤
        │ one  │ first       │
        │ two* │             │
        ╰──────┴─────────────╯
        """)
    assert json.loads(cli("context ls -j").ok().out) == ["one", "two"]
    assert cli("context ls -n").ok().out == "one\ntwo\n"
    assert cli("context select one").ok().err == 'Selected context "one"\n'
    assert open(os.path.join(nats_dir, "context.txt")).read() == "one"
    assert open(os.path.join(nats_dir, "previous-context.txt")).read() == "two"
    assert "Known Contexts" in cli("ctx list").ok().out
    assert cli("context select nope").fails().err == 'pynats: error: unknown context "nope"\n'
    assert "cannot pick a Context without a terminal" in cli("context select").fails().err
    assert cli("context unselect").ok().err == "No context is selected\n"
    assert not os.path.exists(os.path.join(nats_dir, "context.txt"))
    assert cli("context info").fails().err == "pynats: error: no context is selected: give a NAME\n"


def test_info_checks_files_and_warns_about_env(cli, tmp_path):
    cli(f"context add tls --tlsca {tmp_path / 'missing.pem'} --nkey ~/none.nk").ok()
    out = cli("context info tls").ok().out
    assert f"CA: {tmp_path / 'missing.pem'} (ERROR: file not found)" in out
    assert "NKey: ~/none.nk (ERROR: file not found)" in out
    run = cli("context info tls", env={"NATS_URL": "nats://env:4222"}).ok()
    assert run.err == "pynats: warning: NATS_URL is set and overrides the context's url\n"


def test_rm(cli, nats_dir):
    cli("context add a --select").ok()
    assert cli("context rm a").fails().err.endswith('("Really delete context a?"): pass -f/--force\n')
    assert cli("context rm a -f").ok().err == 'Deleted context "a" and unselected it\n'
    assert cli("context ls -n").ok().out == ""
    assert not os.path.exists(os.path.join(nats_dir, "context.txt"))
    assert cli("context rm a -f").fails().err == 'pynats: error: unknown context "a"\n'


@pytest.mark.parametrize("name", ["../evil", "a/b", "x\\y"])
def test_names_cannot_escape_the_folder(cli, name):
    assert cli("context", "add", name).fails().err == f'pynats: error: invalid context name "{name}"\n'
