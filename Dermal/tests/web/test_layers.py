"""The web layer's modules import one way: views -> services -> selectors -> public_errors -> exceptions, with no
module importing one that imports it back (a circle breaks as soon as one of its modules is imported first)."""
import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]
PROBE = """
import json, sys
import django
django.setup()
import {module}
print(json.dumps(sorted(name for name in sys.modules if name.startswith("Dermal.") and "tests" not in name)))
"""
# Each module, and the app modules it must never load, directly or through another.
BELOW = {
    "Dermal.exceptions": {"Dermal.services", "Dermal.selectors", "Dermal.public_errors", "Dermal.views"},
    "Dermal.tallies": {"Dermal.services", "Dermal.selectors", "Dermal.public_errors", "Dermal.views"},
    "Dermal.public_errors": {"Dermal.services", "Dermal.selectors", "Dermal.views"},
    "Dermal.selectors": {"Dermal.services", "Dermal.views"},
    "Dermal.services": {"Dermal.views"},
}


@pytest.mark.parametrize("module", BELOW)
def test_a_module_never_loads_the_layers_above_it(module):
    env = {"PATH": "/usr/bin:/bin", "DJANGO_SETTINGS_MODULE": "dermai.settings", "DEBUG": "true"}
    done = subprocess.run([sys.executable, "-c", PROBE.format(module=module)], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    loaded = set(json.loads(done.stdout.strip().splitlines()[-1]))
    assert not loaded & BELOW[module], f"{module} loads {sorted(loaded & BELOW[module])}"
