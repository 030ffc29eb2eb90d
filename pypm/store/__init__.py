"""The global content-addressed store: wheels unpacked once (keyed by the wheel's sha256)
and linked into every environment that installs them (hardlink, copy or symlink)."""
