"""What every generated document starts with (date, machine, exact command), and Markdown tables."""
import os
import platform
import shlex
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def shown(path):
    """A path as seen from the repository root when it lies inside it."""
    path = Path(path).absolute()
    return str(path.relative_to(ROOT) if path.is_relative_to(ROOT) else path)


def command_line(argv=None):
    """The command as typed from the repository root (e.g. `.venv/bin/python bench/engine.py ...`)."""
    return shlex.join([shown(sys.executable), shown(sys.argv[0]), *(sys.argv[1:] if argv is None else argv)])


def machine():
    """Cores, architecture, kernel, Python and the load average (other work on the machine skews timings)."""
    load = ", ".join(f"{v:.1f}" for v in os.getloadavg())
    return (f"{os.cpu_count()} cores, {platform.machine()}, {platform.system()} {platform.release()}, "
            f"Python {platform.python_version()}, load average {load}")


def provenance(argv=None):
    """When, where and by which command a benchmark's figures were measured, for its JSON and its section."""
    return {"date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()), "machine": machine(),
            "command": command_line(argv)}


def header(title, argv=None):
    """A document's title and provenance lines."""
    return [f"# {title}", "",
            f"Generated {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())} on {machine()} by:", "",
            "```", command_line(argv), "```", ""]


def table(head, rows):
    """A Markdown table from a header and rows of already formatted cells."""
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    lines += ["| " + " | ".join(str(cell) for cell in row) + " |" for row in rows]
    return lines


def number(value, spec=".3f"):
    return "n/a" if value is None else format(value, spec)


# The whole-service section of docs/BENCHMARKS.md: bench/service.py writes it, bench/engine.py keeps it.
SERVICE_START = "<!-- service-view: produced by bench/service.py; bench/engine.py keeps this section -->"
SERVICE_END = "<!-- /service-view -->"
_SERVICE_PREFIX = "<!-- service-view"


def service_span(text):
    """(start, end) of the service section in `text` (markers included), or None when it has none."""
    if not text or _SERVICE_PREFIX not in text or SERVICE_END not in text:
        return None
    start = text.index(_SERVICE_PREFIX)
    return start, text.index(SERVICE_END, start) + len(SERVICE_END)


def with_service_section(text, body):
    """`text` with its service section's body replaced (the section appended when it has none)."""
    section = f"{SERVICE_START}\n{body.strip()}\n{SERVICE_END}"
    span = service_span(text)
    if span is None:
        return f"{text.rstrip()}\n\n{section}\n"
    return text[:span[0]] + section + text[span[1]:]


def marked_span(text, begin, end):
    """(start, end) of the block from the `begin` marker to the `end` marker (both included), or None."""
    start = text.find(begin) if text else -1
    stop = text.find(end, start) if start >= 0 else -1
    return None if stop < 0 else (start, stop + len(end))


def with_marked_block(text, begin, end, block, after=None):
    """`text` with its marked block replaced by `block` (markers included); a text without one gets it after
    the line `after` when it has that line, else at its end."""
    span = marked_span(text, begin, end)
    if span is not None:
        return text[:span[0]] + block + text[span[1]:]
    if after and f"{after}\n" in text:
        at = text.index(f"{after}\n") + len(after) + 1
        return f"{text[:at]}\n{block}\n{text[at:]}"
    return f"{text.rstrip()}\n\n{block}\n"


def add_section_arguments(parser, section, json_name=None):
    """--markdown, the document whose `section` section a benchmark rewrites, and with `json_name` its --json."""
    parser.add_argument("--markdown", type=Path, default=ROOT / "docs" / "BENCHMARKS.md",
                        help=f"the document whose {section} section is rewritten (default %(default)s)")
    if json_name:
        parser.add_argument("--json", type=Path, default=ROOT / "docs" / json_name, help="the figures as JSON")


def write_section(path, begin, end, block):
    """The document at `path` (made when missing) with its marked block rewritten as `block`."""
    path.write_text(with_marked_block(path.read_text() if path.exists() else "", begin, end, block))
