"""Analysis room: results files in, pandas tables, paired tests, plots and markdown reports out (never W&B)."""
