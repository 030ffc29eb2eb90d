"""Known vulnerabilities of released packages, for ``pypm audit``: OSV advisories read
from a local database (:mod:`.osv_db`) or asked of the OSV service (:mod:`.osv_service`),
with an index's per-release JSON as the online fallback (:mod:`.pypi_json`), matched
against versions by :mod:`.matching`. Index/workspace layer: nothing here imports the
operations, the graph or the command line.
"""
