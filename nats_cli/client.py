"""The async admin client: JetStream API requests on nats-py, JSON in, JSON out, ApiError on error.

Subjects come from `schemas.subjects` (the one place they are spelled); this module owns the
request/reply handling and `--trace` (each request and response on stderr).
Imports nats-py, so only command code that talks to a server imports this module.
"""

from __future__ import annotations

import asyncio
import base64
import json
import os
import ssl
import sys
from collections.abc import AsyncIterator, Callable
from typing import Any

import nats
from nats import errors as nats_errors

from nats_cli.contexts import Settings
from nats_cli.errors import ApiError, CliError
from schemas import subjects as S


class Subjects:
    """The JetStream API subjects the CLI sends, from `schemas.subjects`, under one prefix.

    A name that cannot be a subject token (empty, or with `.`, `*`, `>` or spaces) becomes a
    CliError here, before anything is sent.
    """

    def __init__(self, prefix: str = S.API_PREFIX) -> None:
        self.prefix = prefix

    def __getattr__(self, name: str) -> Callable[..., str]:
        build = getattr(S, name)

        def subject(*args: Any) -> str:
            try:
                return build(*args, prefix=self.prefix)
            except ValueError:
                bad = next((a for a in args if not _is_token(a)), "")
                raise CliError(
                    f'invalid name "{bad}": names cannot be empty or contain ".", "*", ">" or spaces'
                ) from None

        return subject

    def consumer_create(self, stream: str, name: str | None = None, filter_subject: str | None = None) -> str:
        if name is None:
            return self.__getattr__("consumer_create")(stream)
        return self.__getattr__("consumer_create_named")(stream, name, filter_subject)


def _tls_context(s: Settings) -> ssl.SSLContext | None:
    if not (s.cert or s.key or s.ca):
        return None
    try:
        ctx = ssl.create_default_context(cafile=s.ca or None)
        if s.cert or s.key:
            if not (s.cert and s.key):
                raise CliError("--tlscert and --tlskey must be given together")
            ctx.load_cert_chain(s.cert, s.key)
    except (OSError, ssl.SSLError) as e:
        raise CliError(f"cannot load TLS files: {e}") from None
    return ctx


class Client:
    """One connection to a server; JetStream API calls return the reply's JSON as a dict."""

    def __init__(self, settings: Settings, timeout: float = 5.0, trace: bool = False, echo=None) -> None:
        self.settings = settings
        self.timeout = timeout
        self.trace = trace
        self._echo = echo or (lambda text: print(text, file=sys.stderr))
        prefix = settings.jetstream_api_prefix or S.api_prefix(settings.jetstream_domain or None)
        self.subjects = Subjects(prefix)
        self.nc: Any = None
        self._errors: list[BaseException] = []

    # connection -------------------------------------------------------------
    async def connect(self) -> Client:
        s = self.settings
        files = {
            "--creds": s.creds,
            "--nkey": s.nkey,
            "--tlscert": s.cert,
            "--tlskey": s.key,
            "--tlsca": s.ca,
        }
        for flag, path in files.items():
            if path and not os.path.isfile(path):
                raise CliError(f"{flag} file {path} does not exist")
        check_credentials(s.creds, s.nkey)
        options: dict[str, Any] = {
            "servers": s.servers,
            "name": "pynats",
            "allow_reconnect": False,
            # one pass over the server list, no pause (0 would retry forever in nats-py)
            "max_reconnect_attempts": 1,
            "reconnect_time_wait": 0,
            "connect_timeout": max(1, int(self.timeout)),
            "error_cb": self._on_error,
            "disconnected_cb": _noop,
            "closed_cb": _noop,
        }
        if s.user and s.password:
            options.update(user=s.user, password=s.password)
        elif s.user:  # natscli: a user without a password is a token
            options["token"] = s.user
        if s.token:
            options["token"] = s.token
        if s.creds:
            options["user_credentials"] = s.creds
        if s.nkey:
            options["nkeys_seed"] = s.nkey
        if s.inbox_prefix:
            options["inbox_prefix"] = s.inbox_prefix
        tls = _tls_context(s)
        if tls is not None:
            options["tls"] = tls
            options["tls_handshake_first"] = s.tls_first
        try:
            self.nc = await asyncio.wait_for(nats.connect(**options), self.timeout + 1)
        except Exception as e:  # nats-py raises many kinds; all mean "could not connect"
            cause = self._errors[-1] if self._errors else e
            raise CliError(f"could not connect to {s.url}: {_describe(cause)}") from None
        return self

    async def _on_error(self, e: BaseException) -> None:
        self._errors.append(e)

    async def close(self) -> None:
        if self.nc is not None and not self.nc.is_closed:
            try:
                await asyncio.wait_for(self.nc.close(), 2)
            except Exception:
                pass

    async def __aenter__(self) -> Client:
        return await self.connect()

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    # API --------------------------------------------------------------------
    async def api(self, subject: str, body: dict | None = None, *, timeout: float | None = None) -> dict:
        """Send one API request; return the reply JSON, raise ApiError for an error reply."""
        payload = b"" if body is None else json.dumps(body).encode()
        if self.trace:
            self._echo(f">>> {subject}\n{payload.decode() or '(empty)'}")
        try:
            msg = await self.nc.request(subject, payload, timeout=timeout or self.timeout)
        except nats_errors.NoRespondersError:
            raise CliError(
                f"no responders for {subject}: is JetStream enabled on the server and for this account?"
            ) from None
        except nats_errors.TimeoutError:
            raise CliError(
                f"timeout after {timeout or self.timeout:g}s waiting for a reply on {subject}"
            ) from None
        text = msg.data.decode(errors="replace")
        if self.trace:
            self._echo(f"<<< {subject}\n{text}")
        try:
            reply = json.loads(text)
        except ValueError:
            raise CliError(f"invalid JSON reply on {subject}: {text[:200]!r}") from None
        if not isinstance(reply, dict):
            raise CliError(f"unexpected reply on {subject}: {text[:200]!r}")
        err = reply.get("error")
        if err:
            raise ApiError(
                int(err.get("code", 0)), int(err.get("err_code", 0)), str(err.get("description", ""))
            )
        return reply

    async def _paged(self, subject: str, key: str, body: dict | None = None) -> AsyncIterator[Any]:
        offset = 0
        while True:
            reply = await self.api(subject, {**(body or {}), "offset": offset})
            items = reply.get(key) or []
            for item in items:
                yield item
            offset += len(items)
            if not items or offset >= int(reply.get("total", 0)):
                return

    async def account_info(self) -> dict:
        return await self.api(self.subjects.account_info())

    async def stream_names(self, subject: str | None = None) -> list[str]:
        body = {"subject": subject} if subject else None
        return sorted([n async for n in self._paged(self.subjects.stream_names(), "streams", body)])

    async def stream_list(self) -> list[dict]:
        return [s async for s in self._paged(self.subjects.stream_list(), "streams")]

    async def stream_info(self, name: str, subjects_filter: str | None = None) -> dict:
        if not subjects_filter:
            return await self.api(self.subjects.stream_info(name))
        info: dict | None = None
        subjects: dict[str, int] = {}
        offset = 0
        while True:
            reply = await self.api(
                self.subjects.stream_info(name), {"subjects_filter": subjects_filter, "offset": offset}
            )
            info = info or reply
            page = (reply.get("state") or {}).get("subjects") or {}
            subjects.update(page)
            offset += len(page)
            if not page or offset >= int(reply.get("total", 0) or 0):
                break
        info = dict(info)
        info["state"] = dict(info.get("state") or {}, subjects=subjects)
        return info

    async def stream_create(self, config: dict) -> dict:
        return await self.api(self.subjects.stream_create(config["name"]), config)

    async def stream_update(self, config: dict) -> dict:
        return await self.api(self.subjects.stream_update(config["name"]), config)

    async def stream_delete(self, name: str) -> dict:
        return await self.api(self.subjects.stream_delete(name))

    async def stream_purge(self, name: str, request: dict | None = None) -> dict:
        return await self.api(self.subjects.stream_purge(name), request or None)

    async def stream_msg_get(self, name: str, request: dict) -> dict:
        return await self.api(self.subjects.stream_msg_get(name), request)

    async def stream_msg_delete(self, name: str, seq: int, erase: bool = True) -> dict:
        body: dict = {"seq": seq}
        if not erase:
            body["no_erase"] = True
        return await self.api(self.subjects.stream_msg_delete(name), body)

    async def consumer_create(self, stream: str, config: dict, action: str = "create") -> dict:
        name = config.get("durable_name") or config.get("name")
        filt = config.get("filter_subject") if name and not config.get("filter_subjects") else None
        subject = self.subjects.consumer_create(stream, name, filt)
        body: dict = {"stream_name": stream, "config": config}
        if action:
            body["action"] = action
        return await self.api(subject, body)

    async def consumer_info(self, stream: str, name: str) -> dict:
        return await self.api(self.subjects.consumer_info(stream, name))

    async def consumer_delete(self, stream: str, name: str) -> dict:
        return await self.api(self.subjects.consumer_delete(stream, name))

    async def consumer_names(self, stream: str) -> list[str]:
        return sorted([n async for n in self._paged(self.subjects.consumer_names(stream), "consumers")])

    async def consumer_list(self, stream: str) -> list[dict]:
        return [c async for c in self._paged(self.subjects.consumer_list(stream), "consumers")]

    async def consumer_pause(self, stream: str, name: str, until: str | None) -> dict:
        """Pause until an RFC 3339 time; None resumes (the server reads a missing time as resume)."""
        body = {"pause_until": until} if until else {}
        return await self.api(self.subjects.consumer_pause(stream, name), body)

    async def consumer_unpin(self, stream: str, name: str, group: str) -> dict:
        return await self.api(self.subjects.consumer_unpin(stream, name), {"group": group})

    async def next_message(self, stream: str, consumer: str, expires: float, group: str | None = None) -> Any:
        """Pull one message: publish the pull request with a reply inbox we already listen on.

        `group` names the priority group the request pulls for. Returns the nats-py Msg, or
        raises CliError for a status reply or when nothing arrives.
        """
        inbox = self.nc.new_inbox()
        sub = await self.nc.subscribe(inbox)
        try:
            body: dict[str, Any] = {"batch": 1, "expires": int(expires * 1e9)}
            if group:
                body["group"] = group
            subject = self.subjects.consumer_msg_next(stream, consumer)
            if self.trace:
                self._echo(f">>> {subject}\n{json.dumps(body)}")
            await self.nc.publish(subject, json.dumps(body).encode(), reply=inbox)
            while True:
                try:
                    msg = await sub.next_msg(timeout=expires + 1)
                except nats_errors.TimeoutError:
                    raise CliError(
                        f"no message received from {stream} > {consumer} within {expires:g}s"
                    ) from None
                status = (msg.headers or {}).get("Status")
                if status and not msg.data:
                    desc = (msg.headers or {}).get("Description", "")
                    if status == "100":  # heartbeat or flow control: keep waiting
                        continue
                    if status in ("404", "408"):
                        raise CliError(
                            f"no message available from {stream} > {consumer} ({status} {desc})".strip()
                        )
                    raise CliError(f"pull request failed: {status} {desc}".strip())
                if self.trace:
                    self._echo(f"<<< {msg.subject} (reply {msg.reply})")
                return msg
        finally:
            try:
                await sub.unsubscribe()
            except Exception:
                pass

    async def ack(self, msg: Any, body: bytes = b"+ACK") -> None:
        """Acknowledge and wait for the server to confirm (a double ack)."""
        if not msg.reply:
            raise CliError("message has no reply subject to acknowledge")
        try:
            await self.nc.request(msg.reply, body, timeout=self.timeout)
        except nats_errors.TimeoutError:
            raise CliError("timeout waiting for the acknowledgement to be confirmed") from None
        except nats_errors.NoRespondersError:
            raise CliError("acknowledgement was not received: consumer gone?") from None


# the lines nats-py looks for in a credentials file; the value is on the line after each
CREDS_JWT_MARK = "BEGIN NATS USER JWT"
CREDS_SEED_MARK = "BEGIN USER NKEY SEED"


def check_credentials(creds: str, nkey: str) -> None:
    """Read the --creds and --nkey files before connecting; a bad one becomes a CliError naming it.

    nats-py reads a credentials file only when the server asks for a signature, and then loops
    forever on one without a JWT line; natscli refuses a bad file whatever the server wants.
    """
    if not (creds or nkey):
        return
    import nkeys

    def is_user_seed(text: str) -> bool:
        try:
            nkeys.from_seed(bytearray(text.encode()))
        except Exception:  # nkeys raises its own errors and binascii/ValueError for junk
            return False
        return text.startswith("SU")

    def read(flag: str, path: str) -> str:
        try:
            with open(path, encoding="utf-8", errors="replace") as f:
                return f.read()
        except OSError as e:
            raise CliError(f"cannot read {flag} file {path}: {e.strerror}") from None

    if creds:
        lines = [line.strip() for line in read("--creds", creds).splitlines()]

        def after(mark: str) -> str:
            index = next((i for i, line in enumerate(lines) if mark in line), len(lines))
            return lines[index + 1] if index + 1 < len(lines) else ""

        if after(CREDS_JWT_MARK).count(".") != 2:
            raise CliError(f"--creds file {creds} is not a NATS credentials file: no user JWT")
        if not is_user_seed(after(CREDS_SEED_MARK)):
            raise CliError(f"--creds file {creds} is not a NATS credentials file: no user nkey seed")
    if nkey and not is_user_seed(read("--nkey", nkey).strip()):
        raise CliError(f"--nkey file {nkey} does not hold a user nkey seed (SU...)")


def _is_token(value: object) -> bool:
    text = str(value)
    return bool(text) and not any(c in text for c in ".*> \t\r\n")


def _describe(e: BaseException) -> str:
    text = str(e).strip()
    if isinstance(e, nats_errors.NoServersError) or not text:
        text = text or type(e).__name__
    if isinstance(e, ConnectionRefusedError) or "Connect call failed" in text:
        return "connection refused"
    if "nats: " in text:
        text = text.replace("nats: ", "")
    return text.strip("'\"")


async def _noop(*_: object) -> None:
    return None


def decode_b64(data: str | None) -> bytes:
    return base64.b64decode(data) if data else b""


def parse_headers(raw: bytes) -> tuple[str, dict[str, list[str]]]:
    """Split a NATS/1.0 header block into (status line, {name: [values]})."""
    lines = raw.decode(errors="replace").split("\r\n")
    status = lines[0][len("NATS/1.0") :].strip() if lines and lines[0].startswith("NATS/1.0") else ""
    out: dict[str, list[str]] = {}
    for line in lines[1:]:
        if not line:
            continue
        name, _, value = line.partition(":")
        out.setdefault(name.strip(), []).append(value.strip())
    return status, out


def message_headers(msg: Any) -> dict[str, str]:
    return dict(msg.headers or {})


Echo = Callable[[str], None]
