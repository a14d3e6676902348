"""bench/engine.py rewrites docs/BENCHMARKS.md: the sections other benchmarks wrote there survive it."""
from argparse import Namespace
from pathlib import Path

from bench.batch import BATCH_END, BATCH_START
from bench.cold_start import COLD_END, COLD_START
from bench.engine import document, with_ratios
from bench.page_agreement import BEGIN as AGREEMENT_START, END as AGREEMENT_END
from bench.phone import PHONE_END, PHONE_START
from bench.report import SERVICE_END, SERVICE_START

KEPT = ((SERVICE_START, SERVICE_END), (BATCH_START, BATCH_END), (PHONE_START, PHONE_END),
        (COLD_START, COLD_END), (AGREEMENT_START, AGREEMENT_END))


def test_the_other_benchmarks_sections_are_kept_word_for_word():
    previous = "# old figures\n\n" + "\n\n".join(f"{begin}\nfigures of section {i}\n{end}"
                                                  for i, (begin, end) in enumerate(KEPT))
    results = with_ratios([{"path": "int8", "runs": {"cam_1t": {"warm_median_s": 0.1}}}])
    args = Namespace(count=3, images=Path("derm_eval"), bundle=Path("Dermal/bundle"))
    text = document(results, args, previous, 0.5)
    for i, (begin, end) in enumerate(KEPT):
        assert f"{begin}\nfigures of section {i}\n{end}" in text, f"section {i} ({begin}) was dropped"
    assert "# old figures" not in text
