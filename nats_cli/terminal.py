"""The terminal: data to stdout, messages to stderr; the only module that imports rich.

rich is imported inside `table()`, the one place that needs it, so start-up stays fast. Markup,
emoji and highlighting are off: server and user text is printed exactly as given. Colour follows
NO_COLOR and whether the stream is a terminal; width follows COLUMNS.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import click

from nats_cli.render import Table


def out(text: str = "", nl: bool = True) -> None:
    """Data (stdout)."""
    click.echo(text, nl=nl)


def err(text: str = "", nl: bool = True) -> None:
    """Messages (stderr)."""
    click.echo(text, err=True, nl=nl)


def out_bytes(data: bytes) -> None:
    sys.stdout.flush()
    binary = getattr(sys.stdout, "buffer", None)
    if binary is None:
        sys.stdout.write(data.decode(errors="replace"))
    else:
        binary.write(data)
        binary.flush()


def error(text: str) -> None:
    err(f"pynats: error: {text}")


def warning(text: str) -> None:
    err(f"pynats: warning: {text}")


def table(spec: Table, *, to_stderr: bool = False) -> None:
    """Draw a table with a rounded box and a centred title."""
    from rich import box
    from rich.console import Console
    from rich.table import Table as RichTable

    stream = sys.stderr if to_stderr else sys.stdout
    console = Console(file=stream, markup=False, emoji=False, highlight=False, soft_wrap=False)
    t = RichTable(
        title=spec.title, box=box.ROUNDED, title_style="", header_style="bold", min_width=len(spec.title) + 2
    )
    for i, header in enumerate(spec.headers):
        t.add_column(header, justify="right" if i in spec.right else "left", overflow="fold")
    for row in spec.rows:
        t.add_row(*row)
    with console.capture() as captured:
        console.print(t)
    # no trailing blanks (rich pads the centred title): tidy to copy, stable to compare
    text = "\n".join(line.rstrip() for line in captured.get().splitlines())
    click.echo(text, err=to_stderr, color=console.is_terminal and not console.no_color or None)


@contextmanager
def progress(total: int, label: str) -> Iterator[Callable[[int], None]]:
    """A progress bar on stderr; yields `update(completed)`."""
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    console = Console(file=sys.stderr, markup=False, emoji=False, highlight=False)
    columns = (TextColumn("{task.description}", markup=False), BarColumn(), MofNCompleteColumn(),
               TimeElapsedColumn())  # fmt: skip
    with Progress(*columns, console=console, refresh_per_second=4) as bar:
        task = bar.add_task(label, total=total)
        yield lambda completed: bar.update(task, completed=completed)


def stderr_is_terminal() -> bool:
    try:
        return sys.stderr.isatty()
    except (AttributeError, ValueError):
        return False


@contextmanager
def bytes_progress(total: int) -> Iterator[Callable[[int], None]]:
    """A progress bar of bytes on stderr (rate, bar, percent, done/total, ETA); yields `update(done)`.

    rich redraws on its own thread at its own pace, so an update per chunk only records the figure.
    """
    from rich.console import Console
    from rich.progress import (
        BarColumn,
        DownloadColumn,
        Progress,
        ProgressColumn,
        TaskProgressColumn,
        TimeRemainingColumn,
    )
    from rich.text import Text

    from nats_cli.units import format_size

    class Rate(ProgressColumn):
        """Bytes a second in IEC units, like the sizes beside it (rich's own column is decimal)."""

        def render(self, task) -> Text:  # type: ignore[no-untyped-def]
            speed = task.finished_speed or task.speed
            return Text(f"{format_size(speed)}/s" if speed else "?", style="progress.data.speed")

    console = Console(file=sys.stderr, markup=False, emoji=False, highlight=False)
    columns = (
        Rate(),
        BarColumn(),
        TaskProgressColumn(),
        DownloadColumn(binary_units=True),
        TimeRemainingColumn(),
    )
    with Progress(*columns, console=console, refresh_per_second=5) as bar:
        size = max(total, 1)
        task = bar.add_task("", total=size)

        def update(done: int) -> None:
            bar.update(task, completed=min(done, size))

        yield update
        bar.update(task, completed=size)
