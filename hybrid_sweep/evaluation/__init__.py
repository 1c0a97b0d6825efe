"""Evaluation room: encode once, score every query against the pool once, LAReQA metrics (plus language
bias) per query, tidy result rows with bootstrap intervals, per-query/TREC files, plots."""
from hybrid_sweep.evaluation.results import (SCHEMA_VERSION, ResultRow, headline, read_results, stage_rows,
                                             write_results)
from hybrid_sweep.evaluation.retrieval import (Evaluation, QueryValues, encode, evaluate, evaluate_embeddings,
                                               evaluate_model)
from hybrid_sweep.evaluation.export import (PER_QUERY_FILE, read_per_query, write_evaluation, write_per_query,
                                            write_trec_qrels, write_trec_run)
from hybrid_sweep.evaluation.uncertainty import aligned_matrices, bootstrap_ci, paired_test, query_matrix

__all__ = ["PER_QUERY_FILE", "SCHEMA_VERSION", "Evaluation", "QueryValues", "ResultRow", "aligned_matrices",
           "bootstrap_ci", "encode", "evaluate", "evaluate_embeddings", "evaluate_model", "headline", "paired_test",
           "query_matrix", "read_per_query", "read_results", "stage_rows", "write_evaluation", "write_per_query",
           "write_results", "write_trec_qrels", "write_trec_run"]
