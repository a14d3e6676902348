"""The results table: one CSV row per photo, written as each photo is done so an interrupted run resumes.

Rows go to <out>.partial as they come (flushed each time); a run that finds a .partial of the same layout and
mode keeps its successful rows and analyses only the rest; the finished table is then written to <out> in
input order in one atomic rename, and the .partial removed. So <out> is always either absent or complete.
"""
import csv
import os
import sys
from pathlib import Path

STAGES = ("load", "preprocess", "inference", "render", "total")


def fields(classes):
    return ["path", "image_id", "dx", "age", "sex", "site", *(f"p_{code}" for code in classes), "top_class",
            "top_probability", "malignant_probability", "referral", "referral_threshold", "scope", "scope_score",
            "out_of_scope", "warnings", "flip_average", "gradcam_png", *(f"seconds_{s}" for s in STAGES),
            "sha256", "error"]


def _text(value):
    return "" if value is None else str(value)


def row(outcome, label, options):
    """The CSV row (all text) of one Outcome; `label` is the photo's Label or None."""
    job = outcome.job
    cells = {"path": str(job.path), "image_id": label.image_id if label else job.path.stem,
             "dx": label.dx if label else "", "age": job.age, "sex": job.sex, "site": job.site,
             "flip_average": options.flip_average, "sha256": outcome.sha256, "error": outcome.error,
             "gradcam_png": outcome.overlay}
    if outcome.result is not None:
        summary = outcome.result.summary()
        triage = summary["triage"] or {}
        cells.update({f"p_{code}": p for code, p in summary["probabilities"].items()})
        cells.update({key: summary[key] for key in ("top_class", "top_probability", "malignant_probability",
                                                    "referral", "scope", "scope_score", "out_of_scope")})
        cells.update({"referral_threshold": triage.get("threshold"),
                      "warnings": ";".join(w["code"] for w in summary["warnings"]),
                      **{f"seconds_{s}": summary["timings"].get(s) for s in STAGES}})
    return {key: _text(value) for key, value in cells.items()}


def _complete_lines(path):
    """The lines of `path` up to its last newline: a row cut short by an interruption is dropped."""
    text = path.read_text(encoding="utf-8")
    return text[:text.rfind("\n") + 1].splitlines(keepends=True)


def _drop_cut_row(path):
    """Cut `path` after its last newline, so rows appended next start on a line of their own."""
    data = path.read_bytes()
    os.truncate(path, data.rfind(b"\n") + 1)


class ResumableTable:
    """Rows of one run, kept in <out>.partial until finish() writes <out>."""

    def __init__(self, out, columns, flip_average):
        self.out, self.columns = Path(out), columns
        self.partial = self.out.with_name(self.out.name + ".partial")
        self.done = self._previous(str(bool(flip_average)))
        fresh = not self.done
        if not fresh:
            _drop_cut_row(self.partial)
        self._handle = open(self.partial, "w" if fresh else "a", newline="", encoding="utf-8")
        self._writer = csv.DictWriter(self._handle, columns)
        if fresh:
            self._writer.writeheader()
            self._handle.flush()

    def _previous(self, flip_average):
        """{path: row} of the successful rows of an interrupted run of the same layout and mode."""
        if not self.partial.is_file():
            return {}
        reader = csv.DictReader(_complete_lines(self.partial))
        if reader.fieldnames != self.columns:
            return {}
        rows = [r for r in reader if r["flip_average"] == flip_average]
        return {r["path"]: r for r in rows if not r["error"]}

    def add(self, cells):
        self._writer.writerow(cells)
        self._handle.flush()

    def finish(self, paths):
        """Write <out> with the rows of `paths` in that order (the last row of a photo retried wins)."""
        latest = {r["path"]: r for r in csv.DictReader(_complete_lines(self.partial))}
        temporary = self.out.with_name(self.out.name + ".tmp")
        with open(temporary, "w", newline="", encoding="utf-8") as handle:
            writer = csv.DictWriter(handle, self.columns)
            writer.writeheader()
            writer.writerows(latest[str(p)] for p in paths)
        os.replace(temporary, self.out)
        self.partial.unlink()
        return [latest[str(p)] for p in paths]

    def close(self):
        self._handle.close()


class StreamTable:
    """Rows straight to standard output (no resuming: there is no file to resume from)."""

    def __init__(self, columns, stream=None):
        self._stream = stream or sys.stdout
        self._writer = csv.DictWriter(self._stream, columns)
        self._writer.writeheader()
        self.done, self.rows = {}, []

    def add(self, cells):
        self._writer.writerow(cells)
        self._stream.flush()
        self.rows.append(cells)

    def finish(self, paths):
        return self.rows

    def close(self):
        pass


def _float_or_text(text):
    try:
        return float(text)
    except ValueError:
        return text


def differences(rows, reference, tolerance=1e-9):
    """[(path, column, value, reference value)] where two tables of the same photos disagree beyond `tolerance`,
    row for row, leaving out what differs between any two runs (the timings, where the overlays were written)."""
    if [r["path"] for r in rows] != [r["path"] for r in reference]:
        return [("", "path", len(rows), len(reference))]
    compared = [c for c in rows[0] if not c.startswith("seconds_") and c != "gradcam_png"] if rows else []
    found = []
    for row, other in zip(rows, reference):
        for column in compared:
            value, expected = _float_or_text(row[column]), _float_or_text(other[column])
            same = abs(value - expected) <= tolerance if isinstance(value, float) and isinstance(expected, float) \
                else value == expected
            if not same:
                found.append((row["path"], column, row[column], other[column]))
    return found


def read_table(path):
    with open(path, newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))
