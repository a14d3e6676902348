#!/usr/bin/env python
"""Tap to result on a phone at Render free's CPU: a 12 MP photo through Lighthouse's mobile network to the service
capped at 0.1 CPU, for the LiteRT bundle and the original Keras design side by side -> the phone section of
docs/BENCHMARKS.md and docs/phone.json.

    .venv/bin/python bench/phone.py            # about 6 minutes (Keras at 0.1 CPU is most of it)
    .venv/bin/python bench/phone.py --engines litert --warm 2 --markdown /tmp/phone.md --json /tmp/phone.json

For each engine (DERMAL_ENGINE), one after the other: render.yaml's start line (harness.service) with its master
and worker in a cgroup capped at --cpus (harness/cpu_cap.py), static files collected as build.sh does; a fresh
headless Chromium context at phone size (375x812, mobile, touch) with CDP's Network.emulateNetworkConditions at
Lighthouse's mobile figures (150 ms, 1.6 Mbit/s down, 750 kbit/s up). The photo: the largest committed CC-0 photo
made a 4032x3024 JPEG of ~3 MB (harness.photos.phone_photo), in a temporary folder.

- tap to result: from the tap on Analyse to the result page's #triage/#referral shown (the photo's upload, the
  analysis with render.yaml's Grad-CAM and flip averaging, the result page's download);
- cold: Render wakes a sleeping service on its first request, so the first user meets the boot and the model's
  load: boot (spawn to /health/ 200) + the first tap to result (which loads the model), each shown too;
- warm: the median of --warm taps after that, the upload page opened afresh each time;
- result page weight: bytes received after the tap, as transferred (headers included): the HTML, plus any images
  it loads.

Chromium talks plain HTTP to 127.0.0.1, so the service runs with SECURE_SSL_REDIRECT=false (on Render the TLS
proxy takes that hop; everything else is production settings).
"""
import argparse
import json
import statistics
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.report import add_section_arguments, provenance, table, write_section  # noqa: E402

PHONE_START = "<!-- phone-view: produced by bench/phone.py; bench/engine.py keeps this section -->"
PHONE_END = "<!-- /phone-view -->"
ENGINES = ("litert", "keras")
TAP_TIMEOUT_S = 600  # a cold Keras tap at 0.1 CPU: ~35 s of upload and ~110 s of analysis
PLAIN_HTTP = {"SECURE_SSL_REDIRECT": "false"}


def measure(engine, photo, browser, args, progress):
    """One engine's service, capped, just started: boot, the cold tap, --warm warm taps, the page's weight."""
    from bench.phone_browser import Phone
    from harness.service import running_service

    with running_service(engine=engine, cpus=args.cpus, collect_static=True, env=PLAIN_HTTP,
                         start_timeout=TAP_TIMEOUT_S, request_timeout=TAP_TIMEOUT_S) as service:
        phone = Phone(browser, service.client.base)
        try:
            first_s, weight = phone.tap_to_result(photo.path, TAP_TIMEOUT_S)
            progress.update()
            warm = []
            for _ in range(args.warm):
                warm.append(phone.tap_to_result(photo.path, TAP_TIMEOUT_S)[0])
                progress.update()
        finally:
            phone.close()
        return {"engine": engine, "cgroup": service.cap.describe(), "boot_s": service.ready_seconds,
                "first_tap_s": round(first_s, 2), "cold_s": round(service.ready_seconds + first_s, 2),
                "warm_s": [round(s, 2) for s in warm], "warm_median_s": round(statistics.median(warm), 2),
                **weight, **service.cap.throttling(), "worker_deaths": service.worker_deaths()}


def kb(count):
    return f"{count / 1024:.0f}"


def section(report):
    """The phone section of docs/BENCHMARKS.md, markers included."""
    photo, runs = report["photo"], report["runs"]
    rows = [[r["engine"], f"{r['boot_s']:.1f}", f"{r['first_tap_s']:.1f}", f"**{r['cold_s']:.1f}**",
             f"**{r['warm_median_s']:.1f}** ({', '.join(f'{s:.1f}' for s in r['warm_s'])})", kb(r["html_bytes"]),
             kb(r["image_bytes"]), f"**{kb(r['page_bytes'])}**"] for r in runs]
    network = report["network"]
    return "\n".join([
        PHONE_START, f"## Phone: tap to result at Render free's CPU ({report['cpus']:g}), on a mobile network", "",
        f"Measured {report['date']} on {report['machine']} by:", "", "```", report["command"], "```", "",
        f"render.yaml's start line with its Gunicorn master and worker in a cgroup capped at {report['cpus']:g} CPU "
        f"({runs[0]['cgroup']}), production settings (Grad-CAM and flip averaging on, as render.yaml sets them); "
        f"headless Chromium at phone size (375x812, mobile, touch) on Lighthouse's mobile network "
        f"({network['latency']} ms, {network['downloadThroughput'] * 8 / 1e6:g} Mbit/s down, "
        f"{network['uploadThroughput'] * 8 / 1e3:g} kbit/s up, CDP Network.emulateNetworkConditions). The photo: a "
        f"{photo['px'][0]}x{photo['px'][1]} JPEG of {photo['bytes'] / 2**20:.1f} MB (a 12 MP phone photo, made from "
        f"`{photo['source']}`, CC-0); at 750 kbit/s its upload alone takes "
        f"{photo['bytes'] / network['uploadThroughput']:.0f} s.", "",
        "Tap to result: from the tap on Analyse to the result page's `#triage`/`#referral` shown. Cold: the service "
        "just started, as Render wakes a sleeping one on the first request: boot (start to /health/ 200) + the first "
        "tap to result, which loads the model. Warm: the median of the taps after it (each in brackets). Result "
        "page: bytes received after the tap as transferred (headers included), the HTML and the images it loads; "
        "KB = 1024 bytes.", "",
        *table(["engine", "boot s", "first tap to result s", "cold s (boot + first tap)", "warm tap to result s",
                "result HTML KB", "result images KB", "result page KB"], rows), "",
        PHONE_END])


def parse_args(argv):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--engines", nargs="+", choices=ENGINES, default=list(ENGINES),
                        help="DERMAL_ENGINE values, measured in turn (default: %(default)s)")
    parser.add_argument("--cpus", type=float, default=0.1, help="the service's CPU cap (default %(default)s)")
    parser.add_argument("--warm", type=int, default=3, help="warm taps per engine (default %(default)s)")
    add_section_arguments(parser, "phone", "phone.json")
    args = parser.parse_args(argv)
    if args.warm < 1 or args.cpus <= 0:
        parser.error("--warm must be at least 1 and --cpus above 0")
    return args


def main(argv=None):
    from playwright.sync_api import sync_playwright
    from tqdm import tqdm

    from bench.phone_browser import NETWORK
    from harness.chromium import launch
    from harness.cpu_cap import CapUnavailable
    from harness.photos import largest_committed, phone_photo

    args = parse_args(argv)
    report = {**provenance(argv), "cpus": args.cpus, "network": NETWORK, "runs": []}
    with tempfile.TemporaryDirectory(prefix="dermai-phone-") as folder, sync_playwright() as playwright:
        photo = phone_photo(Path(folder) / "phone.jpg")
        report["photo"] = {"px": list(photo.size()), "bytes": photo.bytes(), "source": largest_committed().path.name}
        browser = launch(playwright)
        with tqdm(total=len(args.engines) * (1 + args.warm), unit="tap", file=sys.stderr) as progress:
            for engine in args.engines:
                progress.set_description(engine)
                try:
                    report["runs"].append(measure(engine, photo, browser, args, progress))
                except CapUnavailable as exc:
                    print(f"bench/phone.py: cannot cap the CPU here ({exc}); nothing measured", file=sys.stderr)
                    return 2
        browser.close()
    write_section(args.markdown, PHONE_START, PHONE_END, section(report))
    args.json.write_text(json.dumps(report, indent=1) + "\n")
    print(section(report))
    return 0


if __name__ == "__main__":
    sys.exit(main())
