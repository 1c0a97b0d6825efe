"""Any language, end to end: the real ``python -m hybrid_sweep.run -m`` on the tiny model with training corpora
and evaluation sets of one's own, in languages XQuAD-R does not have (NusaX-MT, Tatoeba-112 ja/de)."""
from __future__ import annotations

import json
import os
import subprocess
import sys

import pandas as pd
import pytest
from hydra import compose, initialize_config_dir

from hybrid_sweep.evaluation.results import read_results
from hybrid_sweep.paths import CONFIG_DIR, PROJECT_ROOT
from hybrid_sweep.training.plan import plan
from tests.test_own_data import NUSAX_CODES, PAIRS, nusax_pairs, write_beir

TINY = ["model=tiny", "trainer.max_steps=2", "optimizer.warmup_steps=1", "batching.batch_size=4",
        "eval.batch_size=128", "logger=none"]


def compose_cfg(*overrides: str):
    with initialize_config_dir(config_dir=str(CONFIG_DIR), version_base="1.3"):
        return compose("config", overrides=list(overrides))


def tatoeba_pairs(data_root, path, langs=("deu", "jpn"), rows: int = 60):
    """Question/answer rows in de, en and ja from Tatoeba-112 (line i of each X-English file), one parallel id
    per line number: enough real text for language choice and a short training run."""
    folder = data_root / "tatoeba-112"
    with path.open("w", encoding="utf-8") as fh:
        for iso in langs:
            xs = (folder / f"tatoeba.{iso}-eng.{iso}").read_text(encoding="utf-8").splitlines()[:rows]
            ens = (folder / f"tatoeba.{iso}-eng.eng").read_text(encoding="utf-8").splitlines()[:rows]
            for i, (x, en) in enumerate(zip(xs, ens)):
                fh.write(json.dumps({"id": f"t{i}", "lang": iso, "question": x, "answer": x}, ensure_ascii=False) + "\n")
                if iso == langs[0]:
                    fh.write(json.dumps({"id": f"t{i}", "lang": "en", "question": en, "answer": en}) + "\n")
    return path


def tatoeba_beir(data_root, folder, langs=("jpn", "deu"), start: int = 500, rows: int = 40):
    """Tatoeba-112 X -> English retrieval (lines not used for training) as a BEIR folder with a language field."""
    corpus, queries, qrels = [], [], []
    for iso in langs:
        xs = (data_root / "tatoeba-112" / f"tatoeba.{iso}-eng.{iso}").read_text(encoding="utf-8").splitlines()
        ens = (data_root / "tatoeba-112" / f"tatoeba.{iso}-eng.eng").read_text(encoding="utf-8").splitlines()
        for i in range(start, start + rows):
            queries.append({"_id": f"{iso}{i}", "text": xs[i], "lang": iso})
            corpus.append({"_id": f"en-{iso}{i}", "text": ens[i], "lang": "eng"})
            qrels.append((f"{iso}{i}", f"en-{iso}{i}", 1))
    return write_beir(folder, corpus, queries, qrels)


def run_sweep(tmp_path, cache_dir, *args):
    out = tmp_path / "outputs"
    env = {k: v for k, v in os.environ.items() if k != "WANDB_API_KEY"}
    env.update(HYBRID_SWEEP_OUTPUTS=str(out), HYBRID_SWEEP_CACHE=str(cache_dir))
    done = subprocess.run([sys.executable, "-m", "hybrid_sweep.run", "-m", *args, *TINY], cwd=PROJECT_ROOT, env=env,
                          capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    return out, done


def test_nusax_corpus_trains_on_a_diverse_choice_and_evaluates_in_its_languages(data_root, tmp_path, cache_dir):
    pairs = nusax_pairs(data_root, tmp_path / "nusax.jsonl", rows=40)
    out, done = run_sweep(tmp_path, cache_dir, "sweep_name=nusax", "langs=4", "group=diverse", "batching=cross",
                          "data/train=pairs", f"data.train.path={pairs}", *PAIRS, "data/eval=[nusax_mt]",
                          "data.eval.nusax_mt.queries=[ace,ban,jv,su]")
    [results] = list((out / "nusax").rglob("results.json"))
    doc = json.loads(results.read_text())
    run = doc["run"]
    chosen = run["train_langs"].split(",")
    expected = plan(compose_cfg("langs=4", "group=diverse", "batching=cross", "data/train=pairs",
                                f"data.train.path={pairs}", *PAIRS)).train_langs
    assert tuple(chosen) == expected and len(chosen) == 4 and set(chosen) <= set(NUSAX_CODES.values())
    assert run["langs"] == 4 and run["eval_data"] == "nusax_mt" and run["data_train_data"] == "pairs"
    rows = read_results(results)
    assert {r["eval_set"] for r in rows} == {"nusax_mt"}
    query_langs = {r["query_lang"] for r in rows if r["setting"] == "cross" and r["query_lang"] != "all"}
    assert query_langs == {"ace", "ban", "jv", "su"}
    seen = pd.read_csv(results.parent / "pairs_seen.csv")
    assert set(seen.query_lang) | set(seen.passage_lang) == set(chosen)
    assert "cross" in done.stdout  # the end-of-sweep table


def test_a_count_the_data_cannot_fill_fails_naming_what_it_has(data_root, tmp_path):
    pairs = tatoeba_pairs(data_root, tmp_path / "deenja.jsonl")
    with pytest.raises(ValueError, match=r"langs=4.*de.*en.*ja"):
        plan(compose_cfg("langs=4", "data/train=pairs", f"data.train.path={pairs}"))


@pytest.mark.parametrize("group", ["nested", "diverse", "similar", "script:Latin", "family:Japonic"])
def test_language_groups_work_with_japanese_in_the_data(data_root, tmp_path, group):
    pairs = tatoeba_pairs(data_root, tmp_path / "deenja.jsonl")
    n = 1 if group == "family:Japonic" else 2 if group == "script:Latin" else 3
    batching = "mono" if n == 1 else "cross"
    chosen = plan(compose_cfg(f"langs={n}", f"group={group}", f"batching={batching}", "data/train=pairs",
                              f"data.train.path={pairs}")).train_langs
    assert len(chosen) == n
    if group == "family:Japonic":
        assert chosen == ("ja",)
    elif group == "script:Latin":
        assert set(chosen) == {"de", "en"}
    else:
        assert set(chosen) == {"de", "en", "ja"}


def test_langs_3_on_de_en_ja_trains_all_three_and_aggregates(data_root, tmp_path, cache_dir):
    from hybrid_sweep.analysis.summary import aggregate
    from hybrid_sweep.run import train

    pairs = tatoeba_pairs(data_root, tmp_path / "deenja.jsonl")
    beir = tatoeba_beir(data_root, tmp_path / "tatoeba-beir")
    for n in (2, 3):  # in-process, as Hydra's launcher calls train() for each job of `-m langs=2,3`
        cfg = compose_cfg(f"langs={n}", "batching=cross", "data/train=pairs", f"data.train.path={pairs}",
                          "data/eval=[beir_dir]", f"data.eval.beir_dir.path={beir}", *TINY,
                          f"paths.cache_dir={cache_dir}", "sweep_name=deenja")
        train(cfg, output_dir=tmp_path / "deenja" / f"langs={n}")
    for n in (2, 3):
        run = json.loads((tmp_path / "deenja" / f"langs={n}" / "results.json").read_text())["run"]
        assert run["langs"] == n == len(run["train_langs"].split(","))
    assert sorted(run["train_langs"].split(",")) == ["de", "en", "ja"]
    table = aggregate([tmp_path / "deenja"])
    assert list(table.index) == ["zero-shot", 2, 3]
    corr = pd.read_csv(tmp_path / "deenja" / "distance_correlation.csv")
    assert set(corr.seen) >= {"all"} and corr.n.max() == 2  # ja->en and de->en per job
