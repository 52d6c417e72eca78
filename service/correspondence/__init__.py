"""Correspondence tables: national offence codes mapped to ICCS (draft, validate, import,
export, use)."""
