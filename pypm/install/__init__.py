"""Installing a lock into a virtual environment: venv, downloads, wheels, editables."""
