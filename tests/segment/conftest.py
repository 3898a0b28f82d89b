import pytest


@pytest.fixture(autouse=True)
def _one_thread():
    """Tiny models run fastest single-threaded on a shared 2-core machine."""
    import torch

    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)


@pytest.fixture(scope="session")
def sam2_image():
    from tests.segment.tiny import tiny_sam2_image

    return tiny_sam2_image()


@pytest.fixture(scope="session")
def sam2_video():
    from tests.segment.tiny import tiny_sam2_video

    return tiny_sam2_video()


@pytest.fixture(scope="session")
def sam1_model():
    from tests.segment.tiny import tiny_sam1

    return tiny_sam1()
