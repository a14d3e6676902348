"""render.yaml, the Render blueprint: the web service's start line and env values, and that line made local."""
import re
import shlex
from pathlib import Path

import yaml

from harness import ProofError

ROOT = Path(__file__).resolve().parents[1]
RENDER_YAML = ROOT / "render.yaml"


def load_blueprint(path=RENDER_YAML):
    return yaml.safe_load(Path(path).read_text())


def web_service(blueprint):
    for service in blueprint.get("services") or []:
        if service.get("type") == "web":
            return service
    raise ProofError("render.yaml declares no web service")


def start_command(path=RENDER_YAML):
    """The web service's startCommand, exactly as written in render.yaml."""
    command = web_service(load_blueprint(path)).get("startCommand")
    if not command:
        raise ProofError("render.yaml's web service has no startCommand")
    return command


def render_env(path=RENDER_YAML):
    """The literal env values render.yaml gives the web service (generated and database values excluded)."""
    return {item["key"]: str(item["value"]) for item in web_service(load_blueprint(path)).get("envVars") or []
            if "value" in item and "key" in item}


def generated_keys(path=RENDER_YAML):
    """The env keys for which Render generates a secret value at deploy (`generateValue: true`)."""
    return [item["key"] for item in web_service(load_blueprint(path)).get("envVars") or []
            if item.get("generateValue") and "key" in item]


def local_argv(command, port, host="127.0.0.1"):
    """render.yaml's start line as argv for this machine: $PORT -> port, bind host 0.0.0.0 -> host.

    Nothing else is changed. A line without --bind gets one, since Gunicorn would otherwise bind 0.0.0.0:$PORT.
    """
    line = re.sub(r"\$\{PORT\}|\$PORT\b", str(port), command)
    if "$" in line:
        raise ProofError(f"the start command uses a variable the proof cannot fill: {command!r}")
    argv = shlex.split(line)
    bound = False
    for i, arg in enumerate(argv):
        if arg in ("--bind", "-b") and i + 1 < len(argv):
            argv[i + 1] = _local_bind(argv[i + 1], host)
            bound = True
        elif arg.startswith("--bind="):
            argv[i] = "--bind=" + _local_bind(arg[len("--bind="):], host)
            bound = True
    if not bound:
        argv += ["--bind", f"{host}:{port}"]
    return argv


def _local_bind(address, host):
    if address.startswith(("unix:", "fd://")):
        raise ProofError(f"the proof needs a TCP bind, not {address!r}")
    _, _, port = address.rpartition(":")
    return f"{host}:{port}"


def with_options(argv, options):
    """argv with each `--option value` of `options` replaced (or appended when the line lacks it)."""
    argv = list(argv)
    for option, value in options.items():
        if option in argv:
            argv[argv.index(option) + 1] = str(value)
        else:
            argv += [option, str(value)]
    return argv


def with_app(argv, app):
    """argv serving the WSGI application `app` ("module:callable") in place of the start line's own."""
    served = gunicorn_settings(argv)["args"][0]
    return [app if arg == served else arg for arg in argv]


def gunicorn_settings(argv):
    """Gunicorn's own reading of a start line (workers, threads, timeout, ...): a dict of the set options."""
    from gunicorn.config import Config

    if not argv or Path(argv[0]).name != "gunicorn":
        raise ProofError(f"the start command does not run gunicorn: {argv[:1]}")
    parsed = Config().parser().parse_args(argv[1:])
    return {key: value for key, value in vars(parsed).items() if value is not None}
