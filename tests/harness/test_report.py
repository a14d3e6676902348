"""harness.report: the checks against their thresholds, the decision matrix, the nearest-rank percentile."""
from harness.report import checks_for, decide, exit_code, percentile


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
