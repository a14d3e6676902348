"""harness.report: the checks against their thresholds, the decision matrix, the nearest-rank percentile."""
from harness.report import capped, checks_for, decide, exit_code, finish, markdown, percentile


LIMITS = {"startup_mb": 100, "model_mb": 150, "peak_mb": 450, "budget_mb": 512.0, "warm_s": 10, "first_s": 300.0}


def figures(**changes):
    base = {"startup_rss_mb": 89.0, "model_delta_mb": 104.0, "peak_mb": 205.0, "warm_p95_s": 0.2,
            "first_request_s": 0.3, "server_errors": 0, "failed_uploads": 0, "model_loaded_at_startup": False}
    return {**base, **changes}


def verdict(**changes):
    f = figures(**changes)
    return decide(checks_for(f, LIMITS), f["peak_mb"], LIMITS["budget_mb"])


def test_decision_matrix():
    assert verdict() == "deploy"
    assert verdict(peak_mb=512 * 0.8) == "deploy"               # exactly 20% headroom
    assert verdict(peak_mb=420.0) == "deploy and watch"         # passes, < 20% headroom
    assert verdict(peak_mb=450.0) == "do not deploy"            # thresholds are strict
    assert verdict(startup_rss_mb=100.5) == "do not deploy"
    assert verdict(model_delta_mb=151.0) == "do not deploy"
    assert verdict(warm_p95_s=10.0) == "do not deploy"
    assert verdict(server_errors=1) == "do not deploy"
    assert verdict(failed_uploads=1) == "do not deploy"
    assert verdict(model_loaded_at_startup=True) == "do not deploy"
    assert verdict(model_loaded_at_startup=None) == "do not deploy"  # /memory/ did not answer
    assert verdict(warm_p95_s=None) == "do not deploy"              # a missing figure fails
    assert exit_code("deploy") == exit_code("deploy and watch") == 0
    assert exit_code("do not deploy") == 1


def test_a_smaller_budget_fails_the_peak():
    f = figures(peak_mb=300.0)
    limits = {**LIMITS, "budget_mb": 256.0}
    checks = checks_for(f, limits)
    assert [c["name"] for c in checks if not c["passed"]] == ["peak memory within the budget"]
    assert decide(checks, 300.0, 256.0) == "do not deploy"


def test_percentile_is_nearest_rank():
    values = [float(v) for v in range(1, 21)]
    assert percentile(values, 0.95) == 19.0
    assert percentile(values, 0.5) == 10.0
    assert percentile([3.0], 0.95) == 3.0
    assert percentile([], 0.95) is None


def test_the_report_says_which_photos_were_uploaded_and_which_loaded_the_model():
    meta = {"date": "2026-12-02 20:00 UTC", "machine": "x86_64", "engine": "litert", "precision": "int8",
            "images": "tests/data", "model_photo": {"path": "ISIC_0012633.jpg", "px": [600, 450]},
            "photos": {"count": 16, "smallest_px": [1024, 768], "largest_px": [3072, 2304],
                       "largest_megapixels": 7.1, "largest_mb": 0.8}}
    report = finish({"meta": meta, "limits": LIMITS, "figures": figures(photos_delta_mb=61.5), "errors": []})
    table = markdown(report)
    assert ("| photos uploaded | 16 from tests/data, 1024x768 to 3072x2304 px (7.1 MP), files up to 0.8 MB; "
            "the model loaded on 600x450 px |") in table
    assert "| what the photos added over the loaded model (peak - model loaded) | 61.5 MB |" in table


def test_a_capped_run_says_what_users_meet_and_a_skipped_cap_says_why():
    report = finish({"meta": {"date": "today", "machine": "here", "engine": "litert", "precision": "int8"},
                     "limits": LIMITS, "figures": figures(uploads=3, burst=2), "errors": [],
                     "capped": {"cpus": 0.1, "cgroup": "cgroup v1 cpu quota 10000 us per 100000 us", "boot_s": 4.5,
                                "first_analysis_s": 6.0, "warm_median_s": 3.5, "warm_uploads": 3,
                                "flip_average": "true", "periods": 300, "throttled_periods": 280,
                                "throttled_s": 22.5}})
    line = capped(report)[0]
    assert line.startswith("At 0.1 CPU (cgroup v1 cpu quota 10000 us per 100000 us): boot (start to /health/ 200) "
                           "4.50 s, first analysis (model load included) 6.00 s, warm analysis 3.50 s (median of 3 ")
    assert "flip averaging on" in line and "280 of 300 periods" in line and line in markdown(report)
    report["capped"] = {"cpus": 0.1, "skipped": "no cgroup cpu controller here"}
    assert capped(report) == ["At 0.1 CPU: not measured, this machine cannot cap the CPU (no cgroup cpu controller "
                              "here)."]
    del report["capped"]
    assert capped(report) == []
