"""Tests of the harness's own logic (no network, no tools installed)."""
