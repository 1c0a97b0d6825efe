"""Process setup shared by every entry point (run, evaluate, benches): readable logs from the libraries."""
from __future__ import annotations

import logging
import os
import warnings


def quiet_libraries() -> None:
    """Keep job logs readable: Lightning's tips, summaries and known deprecation chatter off."""
    warnings.filterwarnings("ignore", message=".*LeafSpec.*")
    warnings.filterwarnings("ignore", message=".*does not have many workers.*")
    warnings.filterwarnings("ignore", category=DeprecationWarning)
    for name in ("pytorch_lightning", "lightning.pytorch", "lightning_fabric", "lightning", "faiss.loader",
                 "matplotlib", "matplotlib.font_manager"):
        logging.getLogger(name).setLevel(logging.WARNING)
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
