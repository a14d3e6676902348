"""Endurance: the soak and overload commands against the real Gunicorn service (see soak.py, overload.py)."""
