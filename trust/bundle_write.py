"""Writing the fitted gate and referral thresholds into a serving bundle (manifest entry + scope_<p>.npz)."""
import json
import os
from pathlib import Path

import numpy as np

from Dermal.inference.bundle import MANIFEST, NATURAL_REFERENCE, SCOPE_ARRAYS, sha256_of


def _replace(path, write):
    """Write through a temporary file and os.replace: a server reading the old file never sees a half one."""
    partial = path.with_name(path.name + ".partial")
    write(partial)
    os.replace(partial, path)


def write_gate(directory, precision, gate, description):
    """Save the gate's arrays; returns its manifest entry (file, size, hash, layers, thresholds, description)."""
    path = Path(directory) / f"scope_{precision}.npz"

    def save(partial):
        with open(partial, "wb") as handle:  # a file object, or np.savez would add ".npz" to the name
            np.savez(handle, **{name: np.asarray(gate[name])
                                for name in (*SCOPE_ARRAYS, NATURAL_REFERENCE) if name in gate})

    _replace(path, save)
    return {"file": path.name, "bytes": path.stat().st_size, "sha256": sha256_of(path), "layers": gate["layers"],
            "thresholds": gate["thresholds"], "colourless_saturation": gate["colourless_saturation"], **description}


def update_backbone_entry(directory, precision, **entries):
    """Set keys (e.g. scope=..., triage=...) of one backbone's manifest entry, keeping the rest."""
    path = Path(directory) / MANIFEST
    manifest = json.loads(path.read_text())
    manifest["backbones"][precision].update(entries)
    _replace(path, lambda partial: partial.write_text(json.dumps(manifest, indent=1) + "\n"))
    return manifest
