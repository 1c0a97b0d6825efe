"""Evaluation room: encode once, search with faiss, LAReQA metrics, tidy result rows."""
from hybrid_sweep.evaluation.results import SCHEMA_VERSION, ResultRow, read_results, write_results
from hybrid_sweep.evaluation.retrieval import evaluate_embeddings, evaluate_model

__all__ = ["SCHEMA_VERSION", "ResultRow", "evaluate_embeddings", "evaluate_model", "read_results", "write_results"]
