"""Repo-level tests: the deployment kit (render.yaml, build.sh) and the pre-deploy proof."""
