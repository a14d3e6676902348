"""The proof's figures against their thresholds: the checks, the decision matrix and its tables."""

# The proof's default thresholds (each a flag of test_before_deploy.py); bench/service.py reuses the peak.
# The loaded int8 model measured 139.6 to 147.3 MB over start-up for the same code and photo on one machine and
# day (2026-12-02, runs an hour apart, two virtual environments of the same pins): its bar leaves room for that,
# and still fails the fp32 bundle (about 110 MB more) and the Keras model (924 MB).
DEFAULT_LIMITS = {"startup_mb": 100, "model_mb": 160, "peak_mb": 450, "budget_mb": 512, "warm_s": 10}
HEADROOM_FRACTION = 0.20


def percentile(values, fraction):
    """Nearest-rank percentile (p95 of 20 values is the 19th smallest)."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, -(-len(ordered) * fraction // 1))  # ceil
    return ordered[int(rank) - 1]


def checks_for(figures, limits):
    """The threshold checks: a list of {name, value, limit, unit, passed}. A missing figure fails."""

    def check(name, value, limit, unit, below=True):
        passed = value is not None and (value < limit if below else value == limit)
        return {"name": name, "value": value, "limit": limit, "unit": unit, "passed": bool(passed)}

    return [
        check("start-up memory (Django imported, model not loaded)", figures.get("startup_rss_mb"),
              limits["startup_mb"], "MB"),
        check("model loaded, over start-up", figures.get("model_delta_mb"), limits["model_mb"], "MB"),
        check("peak memory (whole run, Grad-CAM on)", figures.get("peak_mb"), limits["peak_mb"], "MB"),
        check("peak memory within the budget", figures.get("peak_mb"), limits["budget_mb"], "MB"),
        check("warm prediction p95", figures.get("warm_p95_s"), limits["warm_s"], "s"),
        check("first request (cold) within the Gunicorn timeout", figures.get("first_request_s"),
              limits["first_s"], "s"),
        check("server errors (5xx other than the slot 503)", figures.get("server_errors"), 0, "", below=False),
        check("uploads that never got a 200", figures.get("failed_uploads"), 0, "", below=False),
        check("model loaded at start-up (/memory/ model_loaded)", figures.get("model_loaded_at_startup"),
              False, "", below=False),
    ]


def decide(checks, peak_mb, budget_mb):
    """The decision matrix: do not deploy on any failure; deploy with >= 20% headroom; else deploy and watch."""
    if not checks or not all(c["passed"] for c in checks) or peak_mb is None:
        return "do not deploy"
    headroom = round(budget_mb - peak_mb, 6)
    return "deploy" if headroom >= round(HEADROOM_FRACTION * budget_mb, 6) else "deploy and watch"


def exit_code(verdict):
    return 0 if verdict in ("deploy", "deploy and watch") else 1


def finish(report):
    """Headroom, checks and verdict of a measured report (in place); a wrong answer is a failed check too."""
    figures, limits = report["figures"], report["limits"]
    peak = figures.get("peak_mb")
    if peak is not None:
        figures["headroom_mb"] = round(limits["budget_mb"] - peak, 1)
        figures["headroom_pct"] = round(100 * (limits["budget_mb"] - peak) / limits["budget_mb"], 1)
    report["checks"] = checks_for(figures, limits)
    if report["errors"]:  # no probabilities, no overlay, a 500 on / ...
        report["checks"].append({"name": "answers as expected (see the problems listed)",
                                 "value": len(report["errors"]), "limit": 0, "unit": "", "passed": False})
    report["verdict"] = decide(report["checks"], peak, limits["budget_mb"])
    return report


def _fmt(value, unit):
    if isinstance(value, bool) or value is None:
        return str(value).lower() if value is not None else "n/a"
    if isinstance(value, float):
        return f"{value:.2f} {unit}".strip() if unit == "s" else f"{value:.1f} {unit}".strip()
    return f"{value} {unit}".strip()


def _threshold(check):
    limit = check["limit"]
    shown = f"{limit:g} {check['unit']}" if isinstance(limit, float) else _fmt(limit, check["unit"])
    return f"< {shown}" if check["unit"] else f"= {shown}"


def _rows(report):
    """(check, measured, threshold, result) per check."""
    return [(c["name"], _fmt(c["value"], c["unit"]), _threshold(c), "PASS" if c["passed"] else "FAIL")
            for c in report["checks"]]


def markdown(report):
    """The same figures as a Markdown table (for the README)."""
    meta, f = report["meta"], report["figures"]
    lines = [f"Measured {meta['date']} on {meta['machine']}; engine {meta.get('engine')} ({meta.get('precision')}), "
             f"{f.get('uploads')} uploads + a burst of {f.get('burst')}, Grad-CAM on, "
             f"budget {report['limits']['budget_mb']:.0f} MB.", "",
             "| check | measured | threshold | result |", "|---|---|---|---|"]
    lines += [f"| {' | '.join(row)} |" for row in _rows(report)]
    lines += ["", "| also measured | value |", "|---|---|"]
    lines += [f"| {name} | {value} |" for name, value in _info(report)]
    lines += ["", *capped(report)] if capped(report) else []
    lines += ["", f"**Verdict: {report['verdict']}**"]
    return "\n".join(lines) + "\n"


def _per_process(rows):
    return ", ".join(f"{r['role']} {r['rss_mb']:.1f} MB" for r in rows) if rows else "n/a"


def _photos(meta):
    """The uploads' folder and sizes, and the fixed photo that loaded the model."""
    photos, first = meta.get("photos"), meta.get("model_photo")
    if not photos:
        return "n/a"
    shown = (f"{photos['count']} from {meta['images']}, {'x'.join(map(str, photos['smallest_px']))} to "
             f"{'x'.join(map(str, photos['largest_px']))} px ({photos['largest_megapixels']} MP), files up to "
             f"{photos['largest_mb']} MB")
    return shown + (f"; the model loaded on {'x'.join(map(str, first['px']))} px" if first else "")


def _info(report):
    """The figures without a threshold, as (name, value) pairs."""
    f = report["figures"]
    return [
        ("start-up PSS / VmHWM sum", f"{_fmt(f.get('startup_pss_mb'), 'MB')} / {_fmt(f.get('startup_hwm_mb'), 'MB')}"),
        ("after 1st prediction RSS / PSS",
         f"{_fmt(f.get('loaded_rss_mb'), 'MB')} / {_fmt(f.get('loaded_pss_mb'), 'MB')}"),
        (f"peak during {f.get('uploads')} uploads RSS / PSS / VmHWM sum",
         f"{_fmt(f.get('uploads_peak_rss_mb'), 'MB')} / {_fmt(f.get('uploads_peak_pss_mb'), 'MB')} / "
         f"{_fmt(f.get('uploads_peak_hwm_mb'), 'MB')}"),
        (f"peak during burst of {f.get('burst')} RSS / PSS / VmHWM sum",
         f"{_fmt(f.get('burst_peak_rss_mb'), 'MB')} / {_fmt(f.get('burst_peak_pss_mb'), 'MB')} / "
         f"{_fmt(f.get('burst_peak_hwm_mb'), 'MB')}"),
        ("photos uploaded", _photos(report["meta"])),
        ("what the photos added over the loaded model (peak - model loaded)", _fmt(f.get("photos_delta_mb"), "MB")),
        ("first request (model load + 1st analysis)", _fmt(f.get("first_request_s"), "s")),
        ("warm median / p95", f"{_fmt(f.get('warm_median_s'), 's')} / {_fmt(f.get('warm_p95_s'), 's')}"),
        ("CPU per warm analysis (master + worker, user + system)", _fmt(f.get("cpu_per_analysis_ms"), "ms")),
        ("burst: slot 503s retried / burst wall time",
         f"{f.get('slot_503s')} / {_fmt(f.get('burst_seconds'), 's')}"),
        ("headroom under the budget", f"{_fmt(f.get('headroom_mb'), 'MB')} ({_fmt(f.get('headroom_pct'), '%')})"),
        ("top class agrees with the label", f"{f.get('label_agreement')}"),
        ("home page (GET /, production settings)", f"{f.get('home_status')}"),
        ("per process at start-up, RSS", _per_process(report.get("processes_at_startup"))),
        ("per process at the end, RSS", _per_process(report.get("processes_at_end"))),
        ("server ready (spawn to /health/ 200)", _fmt(f.get("startup_seconds"), "s")),
    ]


def capped(report):
    """The capped run's figures as users meet them, in one paragraph (empty without --cpus)."""
    c = report.get("capped")
    if not c:
        return []
    if c.get("skipped"):
        return [f"At {c['cpus']:g} CPU: not measured, this machine cannot cap the CPU ({c['skipped']})."]
    flip = "on" if str(c.get("flip_average")).lower() == "true" else "off"
    return [f"At {c['cpus']:g} CPU ({c['cgroup']}): boot (start to /health/ 200) {_fmt(c['boot_s'], 's')}, "
            f"first analysis (model load included) {_fmt(c['first_analysis_s'], 's')}, warm analysis "
            f"{_fmt(c['warm_median_s'], 's')} (median of {c['warm_uploads']} sequential uploads, Grad-CAM on, "
            f"flip averaging {flip}); the quota held the service back in {c['throttled_periods']} of "
            f"{c['periods']} periods ({_fmt(c['throttled_s'], 's')})."]


def table(report):
    """The human-readable table: each figure against its threshold, then the figures without one, the verdict."""
    meta, info = report["meta"], _info(report)
    rows = [("check", "measured", "threshold", "result"), *_rows(report)]
    widths = [max(len(str(r[i])) for r in rows + [(a, b, "", "") for a, b in info]) for i in range(2)]
    widths += [max(len(r[2]) for r in rows), 6]
    lines = [f"DermAI pre-deploy proof, {meta['date']}, {meta['machine']}, engine {meta.get('engine')} "
             f"({meta.get('precision')}), budget {report['limits']['budget_mb']:.0f} MB",
             f"start command: {meta['start_command']}", ""]
    for i, row in enumerate(rows):
        lines.append("  ".join(str(cell).ljust(widths[j]) for j, cell in enumerate(row)).rstrip())
        if i == 0:
            lines.append("  ".join("-" * w for w in widths))
    lines.append("")
    lines += [f"{name.ljust(widths[0])}  {value}" for name, value in info]
    lines += ["", *capped(report)] if capped(report) else []
    lines += ["", f"VERDICT: {report['verdict'].upper()}"]
    return "\n".join(lines)
