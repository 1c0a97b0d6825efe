"""A job's trained model as a full sentence-transformers folder:
``python -m hybrid_sweep.export <job folder or job/model> <out dir>``.

The folder loads offline with ``SentenceTransformer(<out dir>)``; the query and passage prefixes are its
prompts (``model.encode(texts, prompt_name="query")``). Needs ``pip install -e '.[export]'``.
"""
from __future__ import annotations

import argparse
from pathlib import Path

from hybrid_sweep.model.saving import MODEL_DIR, export_sentence_transformers, is_saved


def export(job: Path, out_dir: Path) -> Path:
    from hybrid_sweep.model import build_biencoder

    saved = job if is_saved(job) else job / MODEL_DIR
    if not is_saved(saved):
        raise FileNotFoundError(f"{job} holds no saved model ({MODEL_DIR}/model.json + trained.safetensors); "
                                f"jobs keep one when model.save=true (the default except model=tiny)")
    model = build_biencoder({"source": "local", "path": str(saved)})  # settings from the saved model
    return export_sentence_transformers(model, out_dir)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m hybrid_sweep.export", description=__doc__.splitlines()[0])
    parser.add_argument("job", type=Path, help="a job folder (with model/) or its model/ folder")
    parser.add_argument("out", type=Path, help="where to write the sentence-transformers folder")
    args = parser.parse_args(argv)
    print(export(args.job, args.out))


if __name__ == "__main__":
    main()
