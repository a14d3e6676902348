"""Tests of the service harness (harness/), one module per harness module."""
