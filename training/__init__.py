"""Training pipeline: corpus, evaluation, MLflow tracking and the training CLI commands."""
