"""Briefing: figures and the files made from them (chart exports, deck, note, digest message)."""
