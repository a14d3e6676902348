"""Boot plus the first analysis at Render free's CPU, for the service and for its engine without Django.

    .venv/bin/python bench/cold_start.py             # about 2 minutes
    .venv/bin/python bench/cold_start.py --runs 1 --markdown /tmp/cold.md --json /tmp/cold.json

A sleeping free instance wakes on a request: its person waits for the boot and the model's load. For each stack, --runs
times, render.yaml's start line (harness.service) in a cgroup capped at --cpus, just started:
- service: the line as it is (dermai.wsgi): boot (start to /health/ 200), then the first analysis through the API
  (the model's load included);
- engine without Django: the same line serving bench/engine_only.py, which answers GET at once and analyses a
  POSTed photo as the API does: the part of a cold start that Python, Gunicorn, NumPy, Pillow, LiteRT and the model
  cost whatever the web framework.
The photo: harness.photos.model_photo (the proof's 600x450 model-loading photo), Grad-CAM and flip averaging as
render.yaml sets them. Also the service's CPU seconds (master and worker, user + system) at each step, which the cap
turns into time. Writes the cold-start section of docs/BENCHMARKS.md and docs/cold_start.json.
"""
import argparse
import json
import statistics
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.report import add_section_arguments, provenance, table, write_section  # noqa: E402

COLD_START = "<!-- cold-start-view: produced by bench/cold_start.py; bench/engine.py keeps this section -->"
COLD_END = "<!-- /cold-start-view -->"
# (name, WSGI application or None for render.yaml's own)
STACKS = (("service", None), ("engine without Django", "bench.engine_only:application"))
TIMEOUT_S = 300  # render.yaml's Gunicorn --timeout


def first_analysis(service, app, photo):
    """The first analysis's answer: through the API for the service, the bare photo for the engine alone."""
    if app is None:
        return service.client.upload(photo)
    return service.client.request("POST", "/", body=photo.data, headers={"Content-Type": "image/jpeg"})


def measure(name, app, photo, cpus):
    """One cold start: boot and first analysis, in seconds and in the service's CPU seconds."""
    from harness import ProofError
    from harness.memory import service_cpu_seconds
    from harness.service import running_service

    with running_service(cpus=cpus, app=app, start_timeout=TIMEOUT_S, request_timeout=TIMEOUT_S) as service:
        boot_cpu = service_cpu_seconds(service.master_pid)
        answer = first_analysis(service, app, photo)
        if answer.status != 200:
            raise ProofError(f"{name}: the first analysis answered {answer.status}: {answer.body[:300]!r}")
        first_cpu = service_cpu_seconds(service.master_pid) - boot_cpu
        return {"stack": name, "boot_s": service.ready_seconds, "first_s": round(answer.seconds, 2),
                "cold_s": round(service.ready_seconds + answer.seconds, 2), "boot_cpu_s": round(boot_cpu, 3),
                "first_cpu_s": round(first_cpu, 3), "cgroup": service.cap.describe() if service.cap else "uncapped"}


def summary(runs):
    """Per stack, the median of each figure over its runs, and the cold starts themselves."""
    stacks = {}
    for run in runs:
        stacks.setdefault(run["stack"], []).append(run)
    return [{"stack": name, "runs": len(group), "cold_each_s": [run["cold_s"] for run in group],
             **{key: round(statistics.median(run[key] for run in group), 3)
                for key in ("boot_s", "first_s", "cold_s", "boot_cpu_s", "first_cpu_s")}}
            for name, group in stacks.items()]


def section(report):
    """The cold-start section of docs/BENCHMARKS.md, markers included."""
    rows = [[row["stack"], f"{row['boot_s']:.1f}", f"{row['first_s']:.1f}",
             f"**{row['cold_s']:.1f}** ({', '.join(f'{s:.1f}' for s in row['cold_each_s'])})",
             f"{1000 * row['boot_cpu_s']:.0f}", f"{1000 * row['first_cpu_s']:.0f}"] for row in report["stacks"]]
    return "\n".join([
        COLD_START, f"## Cold start at Render free's CPU ({report['cpus']:g}): boot plus the first analysis", "",
        f"Measured {report['date']} on {report['machine']} by:", "", "```", report["command"], "```", "",
        f"render.yaml's start line in a cgroup capped at {report['cpus']:g} CPU ({report['cgroup']}), just started; "
        "the first analysis of the proof's 600x450 photo with Grad-CAM and flip averaging, the model's load "
        "included. *Service*: the line as it is, the analysis through the API. *Engine without Django*: the same "
        "line serving bench/engine_only.py, the same analysis with no web framework, so its figure is what Python, "
        "Gunicorn, NumPy, Pillow, LiteRT and the model cost whatever serves them. Medians of the runs (each cold "
        "start in brackets); CPU: the service's master and worker, user + system.", "",
        *table(["stack", "boot s", "first analysis s", "boot + first analysis s", "boot CPU ms",
                "first analysis CPU ms"], rows), "",
        COLD_END])


def parse_args(argv):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=3, help="cold starts per stack (default %(default)s)")
    parser.add_argument("--cpus", type=float, default=0.1, help="the service's CPU cap (default %(default)s)")
    add_section_arguments(parser, "cold-start", "cold_start.json")
    args = parser.parse_args(argv)
    if args.runs < 1 or args.cpus <= 0:
        parser.error("--runs must be at least 1 and --cpus above 0")
    return args


def main(argv=None):
    from tqdm import tqdm

    from harness.cpu_cap import CapUnavailable
    from harness.photos import model_photo

    args = parse_args(argv)
    photo, runs = model_photo(), []
    with tqdm(total=args.runs * len(STACKS), unit="start", file=sys.stderr) as progress:
        for _ in range(args.runs):  # the stacks in turn, so that a change in the machine's load touches both
            for name, app in STACKS:
                try:
                    runs.append(measure(name, app, photo, args.cpus))
                except CapUnavailable as exc:
                    print(f"bench/cold_start.py: cannot cap the CPU here ({exc}); nothing measured", file=sys.stderr)
                    return 2
                progress.update()
    report = {**provenance(argv), "cpus": args.cpus, "cgroup": runs[0]["cgroup"],
              "stacks": summary(runs), "runs": runs}
    write_section(args.markdown, COLD_START, COLD_END, section(report))
    args.json.write_text(json.dumps(report, indent=1) + "\n")
    print(section(report))
    return 0


if __name__ == "__main__":
    sys.exit(main())
