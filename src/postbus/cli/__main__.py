"""`python -m postbus.cli`: the same command line as the `postbus` script."""

from postbus.cli import main

main()
