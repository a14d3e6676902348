"""The service harness: render.yaml's DermAI service run locally, measured and spoken to over HTTP.

One module per concern: `blueprint` (render.yaml and its start line), `server` (the Gunicorn process group),
`service` (a running, healthy service for the block of a `with`), `client` (HTTP requests and uploads),
`photos` (the photos to upload), `memory` (process-tree sampling), `report` (checks, verdict, tables),
`cpu_cap` (a cgroup capping the service's CPU, as Render free's 0.1 CPU), `chromium` (the headless browser).
test_before_deploy.py, bench/ and endurance/ are built on it; the web process never imports it.
"""


class ProofError(RuntimeError):
    """The service could not be run or measured (no server, no images, a bad render.yaml)."""
