#!/usr/bin/env python
"""Does the upload page's smaller photo get the answer the original gets? Measured in real Chromium.

    .venv/bin/python bench/page_agreement.py                    # the page's own size; about 5 minutes
    .venv/bin/python bench/page_agreement.py --send-side 1280 2048

For every photo of the held-out sets present (../shared/derm_heldout with its large originals, derm_phone_dev,
derm_acral_dev), the upload page in headless Chromium prepares the photo as it would send it (bench.page_path);
then render.yaml's service (real Gunicorn, flip averaging as deployed) analyses through the API both what the page
sends and the original, with the photo's age, sex and site. Reports, per set and overall, how often the top class,
the referral, the scope level and the quality warnings agree, the largest probability difference, and what was
sent. Writes docs/page_agreement.json and the page-agreement section of docs/BENCHMARKS.md.
"""
import argparse
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tqdm import tqdm  # noqa: E402

from bench.page_path import phone_page, sent_photo  # noqa: E402
from bench.report import command_line, table, with_marked_block  # noqa: E402
from Dermal.inference.datasets import ACRAL_DIR, HELDOUT_DIR, PHONE_DIR, load_labelled  # noqa: E402
from harness.photos import Image  # noqa: E402
from harness.service import running_service  # noqa: E402

SETS = {"derm_heldout": HELDOUT_DIR, "derm_phone_dev": PHONE_DIR, "derm_acral_dev": ACRAL_DIR}
BEGIN, END = "<!-- page-agreement: produced by bench/page_agreement.py -->", "<!-- /page-agreement -->"
COMPARED = ("top_class", "referral", "scope", "warnings")


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--send-side", type=int, nargs="*", default=[None],
                        help="long sides to try instead of the page's own (pixels)")
    parser.add_argument("--json", type=Path, default=ROOT / "docs" / "page_agreement.json")
    parser.add_argument("--markdown", type=Path, default=ROOT / "docs" / "BENCHMARKS.md")
    return parser.parse_args(argv)


def answer(client, item, data):
    """What the API answers for `data` sent as `item`'s photo: the fields compared, and the probabilities."""
    response = client.upload(Image(item.path, item.dx, item.age, item.sex, item.site, data=data), gradcam=False)
    if response.status != 200:
        raise SystemExit(f"{item.path.name}: the API answered {response.status}: {response.body[:300]!r}")
    body = response.json()
    return {"top_class": body["top_class"], "referral": body["referral"], "scope": body["scope"],
            "warnings": sorted(warning["code"] for warning in body["warnings"]),
            "probabilities": body["probabilities"]}


def compare(original, page):
    differs = [key for key in COMPARED if original[key] != page[key]]
    gap = max(abs(original["probabilities"][code] - page["probabilities"][code]) for code in original["probabilities"])
    return differs, gap


def measure(service, page, sides):
    """{side: [row per photo]} for every photo of the sets present."""
    url = service.client.base + "/"
    items = [(name, item) for name, folder in SETS.items() if folder.is_dir() for item in load_labelled(folder)]
    rows = {side: [] for side in sides}
    for name, item in tqdm(items, desc="photos", unit="photo"):
        original_bytes = item.read()
        original = answer(service.client, item, original_bytes)
        for side in sides:
            data = sent_photo(page, url, item.path, side)[1]
            analysed = answer(service.client, item, data)
            differs, gap = compare(original, analysed)
            rows[side].append({"set": name, "photo": item.path.name, "scaled": data != original_bytes,
                               "referral": [original["referral"], analysed["referral"]],
                               "bytes_sent": len(data), "bytes_original": len(original_bytes),
                               "differs": differs, "largest_probability_gap": round(gap, 4)})
    return rows


def summary(rows):
    """Agreement counts and the largest gap, overall and per set."""
    def of(part):
        return {"photos": len(part), "scaled": sum(row["scaled"] for row in part),
                **{f"{key}_agree": sum(key not in row["differs"] for row in part) for key in COMPARED},
                "largest_probability_gap": max((row["largest_probability_gap"] for row in part), default=0.0),
                "median_bytes_sent_scaled": _median([row["bytes_sent"] for row in part if row["scaled"]])}
    return {"all": of(rows), **{name: of([row for row in rows if row["set"] == name]) for name in SETS}}


def _median(values):
    return sorted(values)[len(values) // 2] if values else None


def _row(side, name, part):
    """One table row: the long side, the set, and how often each compared field agrees."""
    n, sent = part["photos"], part["median_bytes_sent_scaled"]
    agree = [f"{part[f'{key}_agree']}/{n} ({100 * part[f'{key}_agree'] / n:.1f}%)" for key in COMPARED]
    return [side, name, n, part["scaled"], *agree, f"{part['largest_probability_gap']:.3f}",
            f"{sent / 1024:.0f} KB" if sent else "-"]


def markdown(results, page_side):
    lines = ["## The upload page's smaller photo against the original (in Chromium, through the API)", "",
             "```", command_line(), "```", "",
             f"The page sends a photo longer than {page_side} px as a JPEG {page_side} px long (upload.js) when that "
             "JPEG is the smaller file; other photos go as they are. Each photo analysed twice by render.yaml's "
             "service, flip averaging on: what the page sends, and the original.", ""]
    head = ["long side", "set", "photos", "scaled", "top class", "referral", "scope", "warnings",
            "largest probability gap", "median sent (scaled)"]
    body = []
    for side, result in results.items():
        body.extend(_row(side, name, part) for name, part in result["summary"].items() if part["photos"])
        body.extend([f"{side}: {row['photo']} differs in {', '.join(row['differs'])} (referral: original "
                     f"{row['referral'][0]}, page {row['referral'][1]})", *[""] * (len(head) - 1)]
                    for row in result["rows"] if row["differs"])
    return "\n".join([BEGIN, *lines, *table(head, body), END])


def main(argv=None):
    args = parse_args(argv)
    with running_service(collect_static=True) as service, \
            phone_page() as page:
        page_side = int(page.goto(service.client.base + "/") and
                        page.eval_on_selector("#upload-form", "form => form.dataset.sendSide"))
        sides = [side or page_side for side in args.send_side]
        rows = measure(service, page, sides)
    results = {side: {"summary": summary(part), "rows": part} for side, part in rows.items()}
    args.json.write_text(json.dumps({"command": command_line(), "page_side": page_side, "results": results}, indent=1))
    text = args.markdown.read_text() if args.markdown.is_file() else ""
    args.markdown.write_text(with_marked_block(text, BEGIN, END, markdown(results, page_side)))
    for side, result in results.items():
        print(side, json.dumps(result["summary"]["all"]))


if __name__ == "__main__":
    main()
