"""CLI commands of the generic models (pix2pix); paper modules have their own commands.py."""
