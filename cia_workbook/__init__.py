"""cia-workbook: yearly evaluation of a Convention Intercommunale d'Attribution (CIA)."""

__version__ = "0.1.0"
