"""Knowledge-tracing loaders on tiny hand-made files."""

from __future__ import annotations

import numpy as np
import pytest

from medtutor.learning.engine.kt_data import (KTDataError, StudentSequence, detect_format, flatten,
                                              read_assist2009_pid, read_dkvmn, read_sequences,
                                              split_students)

DKVMN_TEXT = "3\n1,1,7\n0,1,1\n2\n5,6,\n1,0,\n"
PID_TEXT = """user_id,user_idx,seq,problem_id,problem_idx,skill_idx,correct
900,2,1,77,12,4,1
900,2,0,55,11,3,0
900,2,2,77,12,5,1
900,2,3,78,13,5,0
901,3,0,55,11,3,1
901,3,1,56,14,3,1
"""


def test_read_dkvmn(tmp_path):
    path = tmp_path / "tiny_train.csv"
    path.write_text(DKVMN_TEXT)
    seqs = read_dkvmn(path)
    assert [len(s) for s in seqs] == [3, 2]
    assert seqs[0].skills.tolist() == [1, 1, 7] and seqs[0].correct.tolist() == [0, 1, 1]
    assert seqs[1].skills.tolist() == [5, 6] and seqs[1].correct.tolist() == [1, 0]
    assert seqs[0].items.tolist() == seqs[0].skills.tolist()
    assert seqs[0].first_of_group is None
    assert detect_format(path) == "dkvmn"


@pytest.mark.parametrize("text, message", [
    ("3\n1,2\n0,1\n", ":1: count says 3"),
    ("2\n1,2\n0,2\n", ":3: responses must be 0 or 1"),
    ("2\n1,x\n0,1\n", ":2: expected comma-separated integers"),
    ("2\n1,2\n", "not a multiple of 3"),
    ("two\n1,2\n0,1\n", ":1: expected a response count"),
])
def test_read_dkvmn_errors_name_the_line(tmp_path, text, message):
    path = tmp_path / "bad.csv"
    path.write_text(text)
    with pytest.raises(KTDataError, match=message):
        read_dkvmn(path)


def test_read_pid_orders_by_seq_and_flags_repeated_rows(tmp_path):
    path = tmp_path / "pid.csv"
    path.write_text(PID_TEXT)
    assert detect_format(path) == "pid_csv"
    seqs = {s.student: s for s in read_assist2009_pid(path)}
    a = seqs["900"]
    assert a.items.tolist() == [11, 12, 12, 13]
    assert a.skills.tolist() == [3, 4, 5, 5]
    assert a.correct.tolist() == [0, 1, 1, 0]
    # row 3 repeats problem 12 and its answer under another skill
    assert a.first_of_group.tolist() == [True, True, False, True]
    assert seqs["901"].first_of_group.tolist() == [True, True]
    flat = flatten(list(seqs.values()))
    assert flat.groups_detectable and int(flat.first_of_group.sum()) == 5


def test_read_pid_rejects_bad_header_and_values(tmp_path):
    path = tmp_path / "pid.csv"
    path.write_text("a,b,c\n1,2,3\n")
    with pytest.raises(KTDataError, match=":1: expected header"):
        read_assist2009_pid(path)
    path.write_text(PID_TEXT.replace("900,2,3,78,13,5,0", "900,2,3,78,13,5,2"))
    with pytest.raises(KTDataError, match=":5: correct must be 0 or 1"):
        read_assist2009_pid(path)


def test_read_sequences_refuses_mixed_formats(tmp_path):
    a, b = tmp_path / "a.csv", tmp_path / "b.csv"
    a.write_text(DKVMN_TEXT)
    b.write_text(PID_TEXT)
    assert len(read_sequences([a, a])) == 4
    with pytest.raises(KTDataError, match="mix formats"):
        read_sequences([a, b])


def test_flatten_positions_and_split_is_deterministic():
    seqs = [StudentSequence.from_lists(f"s{i}", [1, 2, 1], [1, 0, 1]) for i in range(50)]
    flat = flatten(seqs)
    assert flat.position[:6].tolist() == [0, 1, 2, 0, 1, 2]
    assert flat.student[:6].tolist() == [0, 0, 0, 1, 1, 1]
    assert not flat.groups_detectable and flat.first_of_group.all()
    rest, held = split_students(seqs, 0.3)
    rest2, held2 = split_students(seqs, 0.3)
    assert [s.student for s in held] == [s.student for s in held2]
    assert 0 < len(held) < 50 and len(rest) + len(held) == 50
    assert np.array_equal(flatten(held).correct, flatten(held2).correct)


def test_a_qmatrix_beside_the_file_makes_tags_items_of_their_skills(tmp_path):
    from medtutor.learning.engine.kt_data import read_qmatrix, read_sequences

    (tmp_path / "Qmatrix.csv").write_text("1,0\n0,1\n1,0\n")
    (tmp_path / "steps_train.csv").write_text("3\n1,2,3\n1,0,1\n")
    assert read_qmatrix(tmp_path / "Qmatrix.csv") == {1: 1, 2: 2, 3: 1}
    (seq,) = read_sequences([tmp_path / "steps_train.csv"])
    assert seq.items.tolist() == [1, 2, 3] and seq.skills.tolist() == [1, 2, 1] and seq.correct.tolist() == [1, 0, 1]
    (tmp_path / "steps_train.csv").write_text("1\n9\n1\n")
    with pytest.raises(KTDataError, match="not in the Q-matrix"):
        read_sequences([tmp_path / "steps_train.csv"])
    (tmp_path / "Qmatrix.csv").write_text("1,0\n0,0\n")
    with pytest.raises(KTDataError, match="tag 2 has no skill"):
        read_qmatrix(tmp_path / "Qmatrix.csv")
