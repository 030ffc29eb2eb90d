"""The PEP 751 lockfile: writing it deterministically and reading it back."""
