"""bench/page_agreement.py's pure parts: what counts as agreeing, the summary per set, the section it writes (the
measurement itself, in Chromium: run the command, docs/BENCHMARKS.md)."""
from bench.page_agreement import BEGIN, END, compare, markdown, summary


def answer(top_class="nv", referral=False, mel=0.01, warnings=()):
    return {"top_class": top_class, "referral": referral, "scope": "lesion", "warnings": list(warnings),
            "probabilities": {"mel": mel, "nv": 1 - mel}}


def test_each_difference_is_named_with_the_largest_probability_gap():
    assert compare(answer(), answer()) == ([], 0.0)
    differs, gap = compare(answer(mel=0.02), answer(top_class="mel", referral=True, mel=0.62, warnings=["blurry"]))
    assert differs == ["top_class", "referral", "warnings"] and abs(gap - 0.6) < 1e-9


def row(name, differs=(), scaled=True, gap=0.01, referral=(False, False)):
    return {"set": name, "photo": f"{name}.jpg", "scaled": scaled, "referral": list(referral),
            "bytes_sent": 150_000 if scaled else 40_000, "bytes_original": 3_000_000, "differs": list(differs),
            "largest_probability_gap": gap}


def test_the_summary_counts_agreement_overall_and_per_set():
    rows = [row("derm_heldout"), row("derm_heldout", ["referral"], gap=0.2, referral=(False, True)),
            row("derm_acral_dev", scaled=False, gap=0.0)]
    result = summary(rows)
    assert result["all"] == {"photos": 3, "scaled": 2, "top_class_agree": 3, "referral_agree": 2, "scope_agree": 3,
                             "warnings_agree": 3, "largest_probability_gap": 0.2, "median_bytes_sent_scaled": 150_000}
    assert result["derm_heldout"]["referral_agree"] == 1 and result["derm_phone_dev"]["photos"] == 0
    assert result["derm_acral_dev"]["median_bytes_sent_scaled"] is None


def test_the_section_names_each_photo_that_differs_and_which_way():
    rows = [row("derm_heldout", ["referral"], referral=(False, True)), row("derm_phone_dev")]
    text = markdown({1280: {"summary": summary(rows), "rows": rows}}, 1280)
    assert text.startswith(BEGIN) and text.endswith(END)
    assert "| 1280 | all | 2 | 2 | 2/2 (100.0%) | 1/2 (50.0%) |" in text
    assert "derm_heldout.jpg differs in referral (referral: original False, page True)" in text
    assert "derm_phone_dev.jpg differs" not in text
