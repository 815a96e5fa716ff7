"""`python -m configurator` runs the command line."""

from configurator.cli import cli

cli()
