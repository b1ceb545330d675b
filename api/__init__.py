"""The sampling service: a FastAPI app serving generators from the model registry."""
