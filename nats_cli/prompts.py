"""Interactive prompts; the only module that imports questionary (inside each helper).

Every prompt names the flag that sets its value. Prompts appear only when stdin and stdout are
both terminals; otherwise the helpers raise CliError naming that flag, and `require_flag` does
the same for settings that have a default (commands with `--defaults` call it before asking).
Pressing `?` on an empty answer (or answering `?`) prints the prompt's help and the flag, then
asks again.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Sequence

from nats_cli.errors import Cancelled, CliError

HELP = object()  # what a prompt returns when the user asked for help


def interactive() -> bool:
    try:
        return sys.stdin.isatty() and sys.stdout.isatty()
    except (AttributeError, ValueError):
        return False


def require_terminal(what: str, flag: str | None) -> None:
    """Fail, naming the flag, when we would have to ask but cannot."""
    if interactive():
        return
    hint = f": pass {flag}" if flag else ""
    raise CliError(f"{what} is required{hint} (cannot prompt without a terminal)")


def require_flag(flag: str) -> None:
    """Without a terminal, fail naming the flag of a setting that has a default.

    Taking the default silently would hide a choice from a script's author; `--defaults` says
    the choice out loud.
    """
    if not interactive():
        raise CliError(f"{flag} is required when not running interactively (or use --defaults)")


def _show_help(help_text: str, flag: str | None) -> None:
    lines = [help_text] if help_text else []
    if flag:
        lines.append(f"Set this with {flag}")
    print("\n".join("  " + line for line in lines) or "  (no help available)", flush=True)


def _with_help_key(question, only_when_empty: bool = True):
    """Make `?` leave the prompt with HELP (for text prompts only while the answer is empty)."""
    from prompt_toolkit.application.current import get_app
    from prompt_toolkit.filters import Condition
    from prompt_toolkit.key_binding import KeyBindings, merge_key_bindings

    kb = KeyBindings()

    @Condition
    def empty() -> bool:
        buffer = get_app().current_buffer
        return not only_when_empty or buffer is None or not buffer.text

    @kb.add("?", filter=empty, eager=True)
    def _(event) -> None:
        event.app.exit(result=HELP)

    app = question.application
    app.key_bindings = merge_key_bindings([app.key_bindings, kb]) if app.key_bindings else kb
    return question


async def _ask(question):
    try:
        return await question.unsafe_ask_async()
    except KeyboardInterrupt:
        raise Cancelled(130) from None
    except EOFError:
        raise Cancelled(1) from None


async def text(
    label: str,
    *,
    flag: str | None,
    help: str = "",
    default: str | None = None,
    required: bool = False,
    validate: Callable[[str], object] | None = None,
) -> str:
    """Ask for text; an empty answer takes `default`. `validate` raises ValueError to re-ask."""
    import questionary

    require_terminal(label, flag)
    shown = f" ({default})" if default not in (None, "") else ""
    message = f"{label} [? for help]{shown}"

    def check(answer: str) -> bool | str:
        answer = answer.strip()
        if answer == "?":
            return True
        if not answer:
            if default not in (None, ""):
                answer = default
            elif required:
                return "a value is required"
            else:
                return True
        if validate is not None:
            try:
                validate(answer)
            except ValueError as e:
                return str(e)
        return True

    while True:
        answer = await _ask(_with_help_key(questionary.text(message, validate=check, qmark="?")))
        if answer is HELP or (isinstance(answer, str) and answer.strip() == "?"):
            _show_help(help, flag)
            continue
        answer = answer.strip()
        return answer if answer else (default or "")


async def select(
    label: str,
    choices: Sequence[str],
    *,
    flag: str | None,
    help: str = "",
    default: str | None = None,
) -> str:
    import questionary

    require_terminal(label, flag)
    while True:
        question = questionary.select(
            label,
            choices=list(choices),
            default=default if default in choices else None,
            qmark="?",
            use_search_filter=True,
            use_jk_keys=False,
            instruction="(arrow keys, type to filter, ? for help)",
        )
        answer = await _ask(_with_help_key(question, only_when_empty=False))
        if answer is HELP:
            _show_help(help, flag)
            continue
        return answer


async def confirm(label: str, *, flag: str | None, help: str = "", default: bool = False) -> bool:
    import questionary

    require_terminal(label, flag)
    while True:
        choices = "(Y/n, ? for help)" if default else "(y/N, ? for help)"
        question = questionary.confirm(label, default=default, qmark="?", instruction=choices)
        answer = await _ask(_with_help_key(question, False))
        if answer is HELP:
            _show_help(help, flag)
            continue
        return bool(answer)


async def pick(kind: str, names: Sequence[str], *, argument: str) -> str:
    """Choose a Stream/Consumer from a list; without a terminal, ask for the argument."""
    if not interactive():
        raise CliError(f"cannot pick a {kind} without a terminal and no {kind} name supplied ({argument})")
    if not names:
        raise CliError(f"no {kind}s defined")
    return await select(f"Select a {kind}", names, flag=argument, help=f"The {kind} to operate on.")


async def really(question: str, force: bool, help: str = "This cannot be undone.") -> None:
    """Confirm a destructive action unless forced; answering No stops quietly (exit 0)."""
    if force:
        return
    if not interactive():
        raise CliError(f'cannot ask for confirmation without a terminal ("{question}?"): pass -f/--force')
    if not await confirm(question, flag="-f/--force", help=help, default=False):
        raise Cancelled(0)
