import pytest

from onethinker.feedback import FeedbackStore


@pytest.fixture
def store(tmp_path):
    s = FeedbackStore(tmp_path / "db" / "feedback.db")
    yield s
    s.close()
