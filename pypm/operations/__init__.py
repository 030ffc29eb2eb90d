"""pypm's operations as plain functions (callable and testable without doit)."""
