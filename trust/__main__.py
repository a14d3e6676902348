"""`python -m trust`: fit and measure the scope gate and the referral thresholds on every photo set present.

    python -m trust                         # measure and print; nothing written
    python -m trust --write-bundle --report docs/EVALUATION.md
"""
import argparse
import json
import sys
import time

from Dermal.inference.bundle import bundle_dir
from Dermal.inference.engines import build_engine

from .fit import fit_all, read_sets, write_fit
from .photos import LESION_SOURCES, available_sources, lesion_items
from .report import section, write_section
from .spoil_fit import read_spoiled, spoil_figures

COMMAND = "python -m trust --write-bundle --report docs/EVALUATION.md"


def parse_args(argv=None):
    parser = argparse.ArgumentParser(prog="python -m trust", description=__doc__.splitlines()[0])
    parser.add_argument("--write-bundle", action="store_true",
                        help="write the gate and the referral thresholds into the serving bundle (DERMAL_BUNDLE_DIR)")
    parser.add_argument("--report", help="write the figures as the trust section of this Markdown file")
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    if not available_sources():
        sys.exit(f"no labelled lesion photos: the trust tool reads {', '.join(map(str, LESION_SOURCES.values()))} "
                 "(DERMAI_DATA_ROOT moves them)")
    engine = build_engine(with_gate=False)
    sources = {name: lesion_items(name) for name in available_sources()}
    fit = fit_all(*read_sets(engine, sources), engine=engine)
    spoiled = spoil_figures(fit.gate, read_spoiled([item for items in sources.values() for item in items], engine))
    text = section(fit, COMMAND, time.strftime("%Y-%m-%d", time.gmtime()) + f", {engine.precision} backbone", spoiled)
    print(text)
    if args.write_bundle:
        write_fit(bundle_dir(), engine, fit)
        print(f"wrote the gate {json.dumps(fit.gate['thresholds'])} and "
              f"{'the referral thresholds' if fit.triage else 'no referral threshold'} into {bundle_dir()}")
    if args.report:
        write_section(args.report, text)


if __name__ == "__main__":
    main()
