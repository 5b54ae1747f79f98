"""--nkey and --creds: files checked before connecting, and logins end to end on nats-server.

The keys are made here with the `nkeys` package (a runtime dependency). A credentials file
holds a user JWT signed by an account that an operator vouches for, so the --creds test runs
nats-server in operator mode with a memory resolver and JWTs this module signs itself (the
JWT format is three base64url parts and an ed25519 signature by the issuer's nkey). devserver
has neither nkey users nor operator mode, so the logins run on nats-server only; the file
checks run on both.
"""

from __future__ import annotations

import base64
import json
import os
import time

import nkeys
import pytest

from tests.cli.conftest import Pynats

NO_NKEYS = "the devserver has no nkey users or operator mode (nats-server's nkey and JWT logins)"
ACCOUNT_LIMITS = {"subs": -1, "data": -1, "payload": -1, "imports": -1, "exports": -1,
                  "wildcards": True, "conn": -1, "leaf": -1}  # fmt: skip
JETSTREAM_LIMITS = {"mem_storage": -1, "disk_storage": -1, "streams": -1, "consumer": -1}


def key_pair(prefix: int) -> nkeys.KeyPair:
    """A fresh nkey of one role (operator, account or user)."""
    return nkeys.from_seed(bytearray(nkeys.encode_seed(os.urandom(32), prefix)))


def public(kp: nkeys.KeyPair) -> str:
    return kp.public_key.decode()


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def sign_jwt(issuer: nkeys.KeyPair, subject: str, name: str, claims: dict) -> str:
    """A NATS v2 JWT for `subject`, signed by `issuer`."""
    body = {"jti": _b64(os.urandom(16)), "iat": int(time.time()), "iss": public(issuer), "name": name,
            "sub": subject, "nats": {**claims, "version": 2}}  # fmt: skip
    head = _b64(json.dumps({"typ": "JWT", "alg": "ed25519-nkey"}).encode())
    payload = _b64(json.dumps(body).encode())
    return f"{head}.{payload}.{_b64(issuer.sign(f'{head}.{payload}'.encode()))}"


def creds_text(user_jwt: str, seed: str) -> str:
    """A credentials file as `nsc` writes it."""
    return (
        f"-----BEGIN NATS USER JWT-----\n{user_jwt}\n------END NATS USER JWT------\n\n"
        "************************* IMPORTANT *************************\n"
        "NKEY Seed printed below can be used to sign and prove identity.\n\n"
        f"-----BEGIN USER NKEY SEED-----\n{seed}\n------END USER NKEY SEED------\n"
    )


def test_nkey_login(make_server, server_kind, config_home, tmp_path):
    if server_kind == "dev":
        pytest.skip(NO_NKEYS)
    user, stranger = key_pair(nkeys.PREFIX_BYTE_USER), key_pair(nkeys.PREFIX_BYTE_USER)
    conf = tmp_path / "nkey.conf"
    conf.write_text(f"authorization {{ users = [ {{ nkey: {public(user)} }} ] }}\n")
    seed, other = tmp_path / "user.nk", tmp_path / "stranger.nk"
    seed.write_text(user.seed.decode() + "\n")
    other.write_text(stranger.seed.decode() + "\n")
    cli = Pynats(make_server(["-c", str(conf)]).url, config_home)

    assert cli(f"--nkey {seed} str add S --subjects s --defaults").ok()
    assert cli("str ls -n", env={"NATS_NKEY": str(seed)}).ok().out == "S\n"
    cli(f"context add user --nkey {seed}").ok()
    assert cli("--context user str ls -n").ok().out == "S\n"
    violation = f"pynats: error: could not connect to {cli.url}: Authorization Violation\n"
    assert cli(f"--nkey {other} str ls").fails().err == violation
    assert cli("str ls").fails().err == violation


def test_creds_login(make_server, server_kind, config_home, tmp_path):
    if server_kind == "dev":
        pytest.skip(NO_NKEYS)
    operator = key_pair(nkeys.PREFIX_BYTE_OPERATOR)
    account, system = key_pair(nkeys.PREFIX_BYTE_ACCOUNT), key_pair(nkeys.PREFIX_BYTE_ACCOUNT)
    user = key_pair(nkeys.PREFIX_BYTE_USER)
    app_jwt = sign_jwt(operator, public(account), "APP",
                       {"type": "account", "limits": {**ACCOUNT_LIMITS, **JETSTREAM_LIMITS}})  # fmt: skip
    sys_jwt = sign_jwt(operator, public(system), "SYS", {"type": "account", "limits": ACCOUNT_LIMITS})
    conf = tmp_path / "operator.conf"
    conf.write_text(
        f'operator: "{sign_jwt(operator, public(operator), "OP", {"type": "operator"})}"\n'
        f"system_account: {public(system)}\n"
        "resolver: MEMORY\n"
        f'resolver_preload: {{ {public(account)}: "{app_jwt}", {public(system)}: "{sys_jwt}" }}\n'
    )
    user_jwt = sign_jwt(account, public(user), "app", {"type": "user", "pub": {}, "sub": {}, "subs": -1,
                                                        "data": -1, "payload": -1})  # fmt: skip
    creds = tmp_path / "app.creds"
    creds.write_text(creds_text(user_jwt, user.seed.decode()))
    cli = Pynats(make_server(["-c", str(conf)]).url, config_home)

    assert cli(f"--creds {creds} str add S --subjects s --defaults").ok()
    assert cli("str ls -n", env={"NATS_CREDS": str(creds)}).ok().out == "S\n"
    assert "Storage: 0 B of unlimited" in cli(f"--creds {creds} account info").ok().out
    forged = tmp_path / "forged.creds"  # the right JWT with another user's seed
    forged.write_text(creds_text(user_jwt, key_pair(nkeys.PREFIX_BYTE_USER).seed.decode()))
    assert "Authorization Violation" in cli(f"--creds {forged} str ls").fails().err
    assert "Authorization Violation" in cli("str ls").fails().err


def test_credential_files_are_checked_before_connecting(pynats, tmp_path):
    missing = tmp_path / "none.creds"
    assert pynats(f"--creds {missing} account info").fails().err == (
        f"pynats: error: --creds file {missing} does not exist\n"
    )
    assert pynats("account info", env={"NATS_NKEY": str(missing)}).fails().err == (
        f"pynats: error: --nkey file {missing} does not exist\n"
    )
    seed = key_pair(nkeys.PREFIX_BYTE_USER).seed.decode()
    account_seed = key_pair(nkeys.PREFIX_BYTE_ACCOUNT).seed.decode()
    junk = tmp_path / "junk"
    junk.write_text("not really credentials\n")
    no_seed = tmp_path / "no-seed.creds"
    no_seed.write_text(creds_text("a.b.c", "SUNOTASEED"))
    wrong_role = tmp_path / "account.nk"
    wrong_role.write_text(account_seed)
    for flags, message in (
        (f"--creds {junk}", f"--creds file {junk} is not a NATS credentials file: no user JWT"),
        (f"--creds {no_seed}", f"--creds file {no_seed} is not a NATS credentials file: no user nkey seed"),
        (f"--nkey {junk}", f"--nkey file {junk} does not hold a user nkey seed (SU...)"),
        (f"--nkey {wrong_role}", f"--nkey file {wrong_role} does not hold a user nkey seed (SU...)"),
    ):
        assert pynats(f"{flags} account info").fails().err == f"pynats: error: {message}\n"
    good = tmp_path / "user.nk"
    good.write_text(seed)
    assert pynats(f"--nkey {good} account info -j").ok()  # a server without auth ignores the key
