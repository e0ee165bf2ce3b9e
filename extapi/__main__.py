"""``python -m extapi`` runs the command-line tool."""

from extapi.cli import main

main()
