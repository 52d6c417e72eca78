"""The FastAPI service that serves ICCS code suggestions."""
