"""`manage.py analyse`: a folder in, a table out, on the committed photos and on derm_heldout."""
import fcntl
import os
import re
import shutil
import signal
import struct
import termios
import subprocess
import time

import pytest
from django.core.management import call_command

from Dermal.inference.datasets import FIXTURES_DIR
from Dermal.models import Analysis

from .conftest import ROOT, command, environment, manage, read_csv, read_csv_text

pytestmark = pytest.mark.slow  # manage.py in a process of its own

IMAGES = FIXTURES_DIR / "images"
CODES = ["akiec", "bcc", "bkl", "df", "mel", "nv", "vasc"]


@pytest.fixture(scope="module")
def fixture_run(tmp_path_factory):
    """The committed photos with their labels, two workers, Grad-CAM overlays and a CSV."""
    out = tmp_path_factory.mktemp("analyse")
    done = manage("analyse", FIXTURES_DIR, "--labels", FIXTURES_DIR / "labels.csv", "--workers", 2,
                  "--gradcam", out / "gradcam", "--csv", out / "table.csv")
    return done, out


def test_every_photo_gets_a_row_in_input_order_with_its_label_and_figures(fixture_run):
    done, out = fixture_run
    assert done.returncode == 0, done.stderr
    rows = read_csv(out / "table.csv")
    assert [r["path"] for r in rows] == [str(p) for p in sorted(IMAGES.glob("*.jpg"))]
    labels = {r["image_id"]: r["dx"] for r in read_csv(FIXTURES_DIR / "labels.csv")}
    for row in rows:
        assert row["dx"] == labels[row["image_id"]] and not row["error"]
        assert sum(float(row[f"p_{c}"]) for c in CODES) == pytest.approx(1, abs=1e-5)
        assert row["top_class"] in CODES and row["referral"] in ("True", "False") and row["scope"]
        assert float(row["seconds_total"]) > 0
    assert "16 of 16 photo(s) succeeded" in done.stderr and "%|" not in done.stderr  # no bar when not a terminal


def test_gradcam_overlays_are_written_one_per_photo(fixture_run):
    _, out = fixture_run
    written = sorted(p.name for p in (out / "gradcam").iterdir())
    assert written == sorted(f"{p.stem}.png" for p in IMAGES.glob("*.jpg"))
    assert all(r["gradcam_png"] for r in read_csv(out / "table.csv"))


def test_an_undecodable_photo_is_a_row_with_its_error_and_a_failing_exit_status(tmp_path):
    folder = tmp_path / "photos"
    folder.mkdir()
    shutil.copy(sorted(IMAGES.glob("*.jpg"))[0], folder / "a_good.jpg")
    (folder / "b_damaged.jpg").write_bytes(b"\xff\xd8\xff\xe0 not really a JPEG")
    shutil.copy(sorted(IMAGES.glob("*.jpg"))[1], folder / "c_good.jpg")
    done = manage("analyse", folder, "--workers", 1)  # the table on standard output
    assert done.returncode == 1
    assert "1 photo(s) could not be analysed" in done.stderr and "b_damaged.jpg" in done.stderr
    rows = read_csv_text(done.stdout)
    assert [bool(r["error"]) for r in rows] == [False, True, False] and rows[2]["top_class"] in CODES


def test_an_unknown_class_in_the_labels_stops_before_any_analysis(tmp_path):
    labels = tmp_path / "labels.csv"
    labels.write_text("image_id,dx\nISIC_0012633,melanoma\n")
    done = manage("analyse", IMAGES, "--labels", labels, "--csv", tmp_path / "out.csv")
    assert done.returncode == 1 and "unknown class code at line 2 'melanoma'" in done.stderr
    assert not (tmp_path / "out.csv").exists() and not (tmp_path / "out.csv.partial").exists()


def test_on_a_terminal_a_progress_bar_shows_the_rate_and_time_left(tmp_path):
    controller, terminal = os.openpty()
    fcntl.ioctl(terminal, termios.TIOCSWINSZ, struct.pack("HHHH", 30, 120, 0, 0))  # a terminal has a width
    try:
        done = subprocess.run(command("analyse", IMAGES / "ISIC_00126*.jpg", "--workers", 1, "--csv",
                                      tmp_path / "out.csv"), cwd=ROOT, env=environment(), stderr=terminal,
                              stdout=subprocess.DEVNULL, timeout=300)
        os.set_blocking(controller, False)
        shown = os.read(controller, 1 << 20).decode(errors="replace")
    finally:
        os.close(controller)
        os.close(terminal)
    assert done.returncode == 0
    assert re.search(r"100%\|.*\| (\d+)/\1 \[\d\d:\d\d<00:00, +[\d.]+(photo/s|s/photo)\]", shown), shown


def test_no_workers_chosen_says_how_many_and_why(tmp_path):
    done = manage("analyse", IMAGES / "ISIC_00126*.jpg", "--csv", tmp_path / "out.csv")
    assert done.returncode == 0, done.stderr
    assert "using " in done.stderr and "MB available" in done.stderr and "per worker" in done.stderr


def test_an_interrupted_run_run_again_keeps_what_was_done_and_finishes(tmp_path):
    out = tmp_path / "table.csv"
    partial = tmp_path / "table.csv.partial"
    args = command("analyse", IMAGES, "--workers", 1, "--csv", out)
    first = subprocess.Popen(args, cwd=ROOT, env=environment(), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 300
    while not (partial.exists() and partial.read_text().count("\n") >= 5) and time.monotonic() < deadline:
        time.sleep(0.05)
    first.send_signal(signal.SIGKILL)  # as hard as an interruption gets: no clean-up at all
    first.wait(30)
    before = {r["path"]: r for r in read_csv(partial)}
    assert 4 <= len(before) < 16 and not out.exists()
    again = manage("analyse", IMAGES, "--workers", 1, "--csv", out)
    assert again.returncode == 0, again.stderr
    assert f"resuming: {len(before)} photo(s) already analysed" in again.stderr
    rows = read_csv(out)
    assert [r["path"] for r in rows] == [str(p) for p in sorted(IMAGES.glob("*.jpg"))]
    for row in rows:  # the photos done before were kept, not analysed again (same timings to the digit)
        if row["path"] in before:
            assert row == before[row["path"]]
    assert not partial.exists()


@pytest.mark.django_db
def test_record_writes_each_analysis_into_the_history(tmp_path):
    photos = sorted(IMAGES.glob("*.jpg"))[:3]
    call_command("analyse", *map(str, photos), "--record", "--workers", "1", "--csv", str(tmp_path / "o.csv"))
    rows = read_csv(tmp_path / "o.csv")
    recorded = {a.image_sha256: a for a in Analysis.objects.all()}
    assert set(recorded) == {r["sha256"] for r in rows}
    for row in rows:
        assert recorded[row["sha256"]].top_class == row["top_class"]


def test_on_heldout_photos_by_glob(heldout_dir, tmp_path):
    done = manage("analyse", heldout_dir / "images" / "ISIC_00123*.jpg", "--labels", heldout_dir / "labels.csv",
                  "--workers", 2, "--csv", tmp_path / "out.csv")
    assert done.returncode == 0, done.stderr
    rows = read_csv(tmp_path / "out.csv")
    assert rows and all(r["dx"] and r["top_class"] in CODES for r in rows)
    assert "labelled image(s) are not among the photos given" in done.stderr  # the rest of the labels
