"""Analyst review: the queue, decisions with an audit trail, quality figures and the export."""
