"""The command line: a thin argparse layer over plain functions (one module per command)."""
