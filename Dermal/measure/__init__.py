"""Measuring DermAI on a deployment's own photos: the work behind `manage.py analyse`, `evaluate` and
`calibrate_referral`. Never imported by the web process (it pulls matplotlib and the worker pool)."""
