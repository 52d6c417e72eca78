"""Published figures computed from stored classifications and batch results."""
