"""The report's pictures, drawn with matplotlib (Agg, no display) from scoring.evaluate's figures: PNG bytes."""
import io

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402  (after choosing the headless backend)

SIZE = (4.6, 3.8)  # inches at 100 dpi: legible in the report, a few tens of kB each


def _png(figure):
    out = io.BytesIO()
    figure.tight_layout()
    figure.savefig(out, format="png", dpi=100)
    plt.close(figure)
    return out.getvalue()


def _finish_diagonal(figure, axes, diagonal, labels, title, legend):
    """The dotted diagonal (what chance or perfect calibration looks like), axis labels, title, legend: PNG."""
    axes.plot([0, 1], [0, 1], linestyle=":", color="grey", label=diagonal)
    axes.set_xlabel(labels[0])
    axes.set_ylabel(labels[1])
    axes.set_title(title)
    axes.legend(loc=legend)
    return _png(figure)


def confusion(figures):
    """Rows true class, columns predicted; cells shaded by the share of the row, labelled with counts."""
    classes, matrix = figures["classes"], figures["confusion"]
    figure, axes = plt.subplots(figsize=(5.2, 4.4))
    shares = [[n / max(1, sum(row)) for n in row] for row in matrix]
    axes.imshow(shares, cmap="Blues", vmin=0, vmax=1)
    for i, row in enumerate(matrix):
        for j, count in enumerate(row):
            if sum(row):
                axes.text(j, i, count, ha="center", va="center", color="white" if shares[i][j] > 0.5 else "black")
    axes.set_xticks(range(len(classes)), classes)
    axes.set_yticks(range(len(classes)), classes)
    axes.set_xlabel("predicted class")
    axes.set_ylabel("true class")
    axes.set_title("Confusion matrix")
    return _png(figure)


def roc(figures):
    """Melanoma-vs-nevus ROC of P(melanoma), with its AUC and interval; None without both kinds of photo."""
    curve = figures["melanoma_vs_nevus"]
    if curve is None:
        return None
    figure, axes = plt.subplots(figsize=SIZE)
    low, high = curve["interval"]
    axes.plot(curve["fpr"], curve["tpr"], drawstyle="steps-post",
              label=f"AUC {curve['auc']:.3f} [{low:.3f}, {high:.3f}]")
    return _finish_diagonal(figure, axes, "chance", ("false positive rate (nevi called melanoma)",
                            "true positive rate (melanomas caught)"),
                            f"Melanoma vs nevus ({curve['melanomas']} mel, {curve['nevi']} nv)", "lower right")


def reliability(figures):
    """Accuracy against the top-1 probability per confidence bin; the diagonal is perfect calibration."""
    bins = figures["reliability"]
    figure, axes = plt.subplots(figsize=SIZE)
    axes.bar([b["low"] for b in bins], [b["accuracy"] for b in bins], width=[b["high"] - b["low"] for b in bins],
             align="edge", edgecolor="black", alpha=0.7, label="accuracy in the bin")
    for b in bins:
        axes.text((b["low"] + b["high"]) / 2, b["accuracy"] + 0.02, b["count"], ha="center", fontsize=8)
    axes.set_xlim(0, 1)
    axes.set_ylim(0, 1.1)
    return _finish_diagonal(figure, axes, "perfect calibration", ("top-1 probability", "share correct"),
                            f"Reliability (ECE {figures['expected_calibration_error']:.3f}; photos per bin)",
                            "upper left")


def recall(figures):
    """Per-class recall with its 95% interval and the photo count under each class."""
    present = [c for c in figures["classes"] if figures["per_class"][c]["photos"]]
    shares = [figures["per_class"][c]["recall"] for c in present]
    figure, axes = plt.subplots(figsize=SIZE)
    values = [s["value"] for s in shares]
    errors = [[v - s["interval"][0] for v, s in zip(values, shares)],
              [s["interval"][1] - v for v, s in zip(values, shares)]]
    axes.bar(range(len(present)), values, yerr=errors, capsize=4, color="tab:blue", alpha=0.7)
    axes.set_xticks(range(len(present)), [f"{c}\nn={s['count']}" for c, s in zip(present, shares)])
    axes.set_ylim(0, 1.05)
    axes.set_ylabel("recall (95% interval)")
    axes.set_title("Recall per class")
    return _png(figure)


def all_figures(figures):
    """{name: PNG bytes} of every figure that applies."""
    drawn = {"confusion": confusion(figures), "recall": recall(figures), "roc": roc(figures),
             "reliability": reliability(figures)}
    return {name: png for name, png in drawn.items() if png is not None}
