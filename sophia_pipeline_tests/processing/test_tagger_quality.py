"""Tagger quality on the sample set, scored against the generator's ground truth."""

from __future__ import annotations

from datetime import date
from pathlib import Path

from sophia_pipeline.sample.generator import generate
from sophia_pipeline.sample.scoring import score_gong


def test_competitor_mentions_meet_the_bar_on_the_sample(tmp_path: Path) -> None:
    generate(tmp_path, scale=2, seed=11, reference_date=date(2026, 11, 24))
    score = score_gong(tmp_path)
    assert score.true_mentions > 100
    assert score.mention_precision >= 0.95
    assert score.mention_recall >= 0.95
    assert score.call_competitor_precision >= 0.95 and score.call_competitor_recall >= 0.95
