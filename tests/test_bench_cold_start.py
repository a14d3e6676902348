"""bench/cold_start.py: its medians and its section (pure), and the engine without Django it measures, served for real
by render.yaml's line (uncapped here; the capped figures: run the command, docs/BENCHMARKS.md)."""
import json

import pytest

from bench.cold_start import COLD_END, COLD_START, STACKS, measure, section, summary
from bench.report import with_marked_block
from harness.photos import model_photo


def run(stack, cold_s, **changes):
    return {"stack": stack, "boot_s": 1.0, "first_s": cold_s - 1.0, "cold_s": cold_s, "boot_cpu_s": 0.1,
            "first_cpu_s": 0.4, "cgroup": "cgroup v1 cpu quota 10000 us per 100000 us", **changes}


def test_each_stack_gets_the_median_of_its_own_runs():
    runs = [run("service", 9.0), run("engine without Django", 6.5), run("service", 8.0, boot_cpu_s=0.3),
            run("engine without Django", 7.5), run("service", 10.0)]
    service, engine = summary(runs)
    assert (service["stack"], service["runs"], service["cold_s"], service["cold_each_s"]) == \
        ("service", 3, 9.0, [9.0, 8.0, 10.0])
    assert service["boot_cpu_s"] == 0.1 and engine["cold_s"] == 7.0 and engine["runs"] == 2


def test_the_section_has_a_row_per_stack_and_replaces_only_itself():
    report = {"date": "2026-12-03 09:40 UTC", "machine": "2 cores", "command": ".venv/bin/python bench/cold_start.py",
              "cpus": 0.1, "cgroup": "cgroup v1 cpu quota 10000 us per 100000 us",
              "stacks": summary([run("service", 9.1, boot_cpu_s=0.41, first_cpu_s=0.49),
                                 run("engine without Django", 6.5, boot_cpu_s=0.13, first_cpu_s=0.5)])}
    text = section(report)
    assert text.startswith(COLD_START) and text.endswith(COLD_END)
    assert "| service | 1.0 | 8.1 | **9.1** (9.1) | 410 | 490 |" in text
    assert "| engine without Django | 1.0 | 5.5 | **6.5** (6.5) | 130 | 500 |" in text
    document = with_marked_block("# Benchmarks\n\nthe engine's figures\n", COLD_START, COLD_END, text)
    again = with_marked_block(document, COLD_START, COLD_END, text.replace("9.1", "8.7"))
    assert again.startswith("# Benchmarks\n\nthe engine's figures\n") and again.count(COLD_START) == 1
    assert "**8.7**" in again and "**9.1**" not in again


@pytest.mark.slow  # real Gunicorn
def test_the_engine_without_django_starts_and_analyses_a_photo_as_the_api_does():
    name, app = STACKS[1]
    figures = measure(name, app, model_photo(), cpus=None)
    assert figures["stack"] == "engine without Django" and figures["cgroup"] == "uncapped"
    assert figures["boot_s"] > 0 and figures["first_s"] > 0 and figures["first_cpu_s"] > 0
    assert figures["cold_s"] == pytest.approx(figures["boot_s"] + figures["first_s"], abs=0.01)


@pytest.mark.slow  # real Gunicorn
def test_the_engine_without_django_answers_the_probabilities_referral_and_overlay():
    from harness.service import running_service

    photo = model_photo()
    with running_service(app=STACKS[1][1]) as service:
        assert service.client.get("/health/").json() == {"status": "ok"}
        answer = service.client.request("POST", "/", body=photo.data, headers={"Content-Type": "image/jpeg"})
    analysis = json.loads(answer.body)
    assert answer.status == 200 and len(analysis["probabilities"]) == 7
    assert sum(analysis["probabilities"].values()) == pytest.approx(1, abs=1e-4)
    assert isinstance(analysis["referral"], bool) and analysis["overlay_png_bytes"] > 10_000
