"""Command-line experiments (``python -m ponderttt.experiments.NAME``)."""
