"""hybrid_plugin.domain: the domain-transfer study end to end on tiny real models (real NTREX-128 / AfriQA slices,
real training steps, Faiss and ir_measures through evaluate_beir), the item split, resumption and refusals."""

from __future__ import annotations

import json
import shutil

import pytest

from hybrid_plugin.adaptation.parallel import collection_texts
from hybrid_plugin.domain.runner import run_domain
from hybrid_plugin.domain.sets import DomainData
from hybrid_plugin.domain.settings import DOMAINS, SETTINGS_FILE, DomainSettings
from hybrid_plugin.errors import UsageError
from hybrid_plugin.files import claim_output
from hybrid_plugin.study.folders import check_study_settings, claim_study_folder


@pytest.fixture()
def tiny_study(tmp_path, tiny_xquad_model, tiny_model_builder):
    """A reproduce folder: the tiny model as base, X-X and X-Y, a tiny model of another seed as hybrid (real
    sentence-transformers folders; what they were trained on does not matter to the runner)."""
    study = tmp_path / "study"
    study.mkdir()
    (study / "plan.json").write_text(json.dumps({"model": str(tiny_xquad_model), "alphas": [1.0, 0.0, 0.5],
                                                 "seeds": 1, "directions": [["mlqa-r", "xquad-r"]]}))
    for config in ("xx", "xy", "hybrid-a0.5"):
        folder = study / f"models/mlqa-r/{config}/seed0"
        shutil.copytree(tiny_xquad_model, folder)
        (folder / "training.json").write_text("{}")
    return study


def test_the_sides_share_no_item_and_no_text(tiny_study, shared_data, tmp_path):
    settings = DomainSettings(study=tiny_study, out=tmp_path / "out", data_root=shared_data, quick=True)
    data = DomainData(settings)
    for domain in settings.domains:
        sides = data.sides(domain)
        assert not set(sides.adapt.qids) & set(sides.evaluated.qids)
        assert not collection_texts(sides.adapt) & collection_texts(sides.evaluated)
        record = sides.record()
        assert record["shared_items"] == record["shared_texts"] == 0 and record["adapt_items"] > 0
        evaluated_texts = collection_texts(sides.evaluated)
        assert all(q.text in evaluated_texts for q in sides.beir.queries.values())
        assert not {q.text for q in sides.adapt_beir.queries.values()} & evaluated_texts
    african = data.sides("african-qa")
    # AfriQA adapts on its whole released train split (training encodes nothing); the baseline is chosen on the
    # first items of it, as many as are evaluated
    assert african.record()["adapt_items"] > 2 * len(african.evaluated.qids)
    assert len(african.adapt_beir.queries) <= len(african.beir.queries) + 30
    news = data.sides("news").beir
    # X -> the en + de + es pool: no query in a pool language, each judged against three translations
    assert {q.language for q in news.queries.values()} == {"ar", "sw", "yo", "zu"}
    assert {d.language for d in news.corpus.values()} == {"en", "de", "es"}
    assert all(len(judged) == 3 for judged in news.qrels.values())
    talk = data.sides("conversational")
    # X -> one English pool (Tatoeba's xx -> eng over the union of the English sides): no English query
    assert {q.language for q in talk.beir.queries.values()} == {"de", "ar", "fr", "kab", "yue"}
    assert {d.language for d in talk.beir.corpus.values()} == {"en"}
    assert all(len(judged) == 1 for judged in talk.beir.qrels.values())
    assert len(talk.evaluated.qids) + len(talk.adapt.qids) == DOMAINS["conversational"].quick_items


def test_the_full_african_qa_sides_adapt_on_the_languages_its_train_split_has(tiny_study, shared_data, tmp_path):
    """Every evaluated language of the full preset is read; Swahili (no gold passages in AfriQA's train split) is
    evaluated but not adapted on, instead of stopping the study when it reaches the domain."""
    settings = DomainSettings(study=tiny_study, out=tmp_path / "out", data_root=shared_data)
    sides = DomainData(settings).sides("african-qa")
    evaluated = {q.language for q in sides.beir.queries.values()}
    adapted = set(sides.adapt.languages)
    assert evaluated == set(DOMAINS["african-qa"].languages) - {"en", "fr"}
    assert adapted == set(DOMAINS["african-qa"].adapt_languages) and "sw" in evaluated - adapted
    assert not set(sides.adapt.qids) & set(sides.evaluated.qids)


def test_the_three_domains_are_the_default_and_tatoeba_pool_reads_tatoeba(tiny_study, tmp_path):
    settings = DomainSettings(study=tiny_study, out=tmp_path / "out", data_root=tmp_path / "data")
    assert settings.domains == ("news", "african-qa", "conversational")
    assert settings.data("tatoeba-pool") == tmp_path / "data" / "tatoeba"
    assert settings.data("afriqa-train") == tmp_path / "data" / "afriqa"
    assert settings.data("ntrex-128") == tmp_path / "data" / "ntrex-128"


@pytest.mark.slow
def test_a_tiny_domain_study_runs_resumes_and_publishes(tiny_study, shared_data, tmp_path, isolated_cache,
                                                        one_torch_thread):
    out, publish = tmp_path / "domain", tmp_path / "published"
    settings = DomainSettings(study=tiny_study, out=out, data_root=shared_data, quick=True, limit=40, steps=2,
                              batch_size=4, per_language=6, publish=publish, domains=("news", "african-qa"))
    lines: list[str] = []
    summary = run_domain(settings, progress=lines.append)
    systems = {(r.domain, r.system) for r in summary.rows}
    chosen = summary.chosen["news"]
    assert chosen in ("xx", "xy")
    expected = {"base", "xx", "xy", "hybrid-a0.5", *(f"{m}+{a}" for m in ("hybrid-a0.5", chosen)
                                                      for a in ("lsar", "parallel", "denoising"))}
    assert {s for d, s in systems if d == "news"} == expected
    news = {r.system: r for r in summary.rows if r.domain == "news"}
    assert news["xx"].bias is not None and news["hybrid-a0.5+parallel"].cost["steps"] == 2
    assert set(news["base"].groups) <= {"trained", "pretrained", "unseen"}
    trained = json.loads((out / "models/news/hybrid-a0.5+parallel/training.json").read_text())
    split = json.loads((out / "splits/news.json").read_text())
    assert trained["adaptation"]["target_items_digest"] == split["adapt_digest"] != split["evaluated_digest"]
    tests = {(t.domain, t.a, t.b) for t in summary.tests}
    assert ("news", "hybrid-a0.5", "xx") in tests and ("news", "hybrid-a0.5+lsar", "hybrid-a0.5") in tests
    assert ("news", "hybrid-a0.5+parallel", f"{chosen}+parallel") in tests
    for name in ("summary.md", "summary.json", "domains.png", "splits/news.json"):
        assert (out / name).is_file() and (publish / name).is_file(), name
    assert not list(publish.rglob("*.safetensors"))

    # a rerun does nothing new; other settings are refused before anything changes
    before = (out / "summary.json").read_text()
    lines.clear()
    assert run_domain(settings, progress=lines.append).rows == summary.rows
    assert not lines and (out / "summary.json").read_text() == before
    with pytest.raises(UsageError, match="other settings"):
        run_domain(DomainSettings(study=tiny_study, out=out, data_root=shared_data, quick=True, limit=40, steps=3,
                                  batch_size=4, per_language=6), progress=lines.append)


def test_bad_options_are_one_line_errors(tiny_study, tmp_path):
    with pytest.raises(UsageError, match="--domains must name some of"):
        DomainSettings(study=tiny_study, out=tmp_path / "o", domains=("space",))
    with pytest.raises(UsageError, match="--adapt-fraction"):
        DomainSettings(study=tiny_study, out=tmp_path / "o", adapt_fraction=1.5)
    with pytest.raises(UsageError, match="no plan.json"):
        DomainSettings(study=tmp_path, out=tmp_path / "o")


def test_a_study_folder_of_two_domains_takes_a_third(tiny_study, tmp_path):
    out = tmp_path / "domain"
    started = DomainSettings(study=tiny_study, out=out, quick=True, domains=("news", "african-qa"))
    out.mkdir()
    claim_output(out, "domain")
    (out / SETTINGS_FILE).write_text(json.dumps(started.plan(), indent=1))  # as the code before #16 wrote it
    added = DomainSettings(study=tiny_study, out=out, quick=True, domains=("conversational",))
    assert claim_study_folder(out, SETTINGS_FILE, added.plan(), "domain", growing=("domains",))
    recorded = json.loads((out / SETTINGS_FILE).read_text())
    assert recorded == {**started.plan(), "domains": ["news", "african-qa", "conversational"]}
    default = DomainSettings(study=tiny_study, out=out, quick=True)
    assert claim_study_folder(out, SETTINGS_FILE, default.plan(), "domain", growing=("domains",))
    assert json.loads((out / SETTINGS_FILE).read_text()) == recorded
    with pytest.raises(UsageError, match=r"other settings \(steps\)"):
        claim_study_folder(out, SETTINGS_FILE, {**default.plan(), "steps": 3}, "domain", growing=("domains",))
    with pytest.raises(UsageError, match=r"other settings \(domains\)"):  # the other studies: all keys equal
        check_study_settings(out, SETTINGS_FILE, started.plan(), "domain")
    assert json.loads((out / SETTINGS_FILE).read_text()) == recorded


@pytest.mark.slow
def test_a_resumed_study_adds_domains_and_summarises_them_all(tiny_study, shared_data, tmp_path, isolated_cache,
                                                               one_torch_thread):
    out = tmp_path / "domain"
    common = dict(study=tiny_study, out=out, data_root=shared_data, quick=True, limit=40, steps=2, batch_size=4,
                  per_language=6, adaptations=("lsar",))
    # a study started before this change: domain.json as that code wrote it (news and african-qa)
    started = DomainSettings(**common, domains=("news", "african-qa"))
    out.mkdir()
    claim_output(out, "domain")
    (out / SETTINGS_FILE).write_text(json.dumps(started.plan(), indent=1))
    run_domain(DomainSettings(**common, domains=("news",)), progress=lambda line: None)
    summary = run_domain(DomainSettings(**common, domains=("conversational",)), progress=lambda line: None)
    recorded = json.loads((out / SETTINGS_FILE).read_text())
    assert recorded["domains"] == ["news", "african-qa", "conversational"]
    assert {k: v for k, v in recorded.items() if k != "domains"} == {
        k: v for k, v in started.plan().items() if k != "domains"}
    assert {r.domain for r in summary.rows} == {"news", "conversational"}
    assert summary.settings["domains"] == ["news", "conversational"] and "--domains news,conversational" in (
        summary.command)
    talk = {r.system: r for r in summary.rows if r.domain == "conversational"}
    chosen = summary.chosen["conversational"]
    assert talk.keys() == {"base", "xx", "xy", "hybrid-a0.5", "hybrid-a0.5+lsar", f"{chosen}+lsar"}
    assert talk["xx"].bias is None and 0 <= talk["xx"].values["nDCG@10"] <= 1  # one pool language: no bias
    assert (out / "splits/conversational.json").is_file() and "conversational" in (out / "summary.md").read_text()
    # the default domains resume it too; other settings still refuse, and without growing keys (the other
    # studies) the domains must be equal
    assert check_study_settings(out, SETTINGS_FILE, DomainSettings(**common).plan(), "domain", growing=("domains",))
    with pytest.raises(UsageError, match=r"other settings \(steps\)"):
        run_domain(DomainSettings(**{**common, "steps": 3}, domains=("conversational",)), progress=lambda _: None)
    with pytest.raises(UsageError, match=r"other settings \(domains\)"):
        check_study_settings(out, SETTINGS_FILE, {**recorded, "domains": ["news"]}, "domain")
