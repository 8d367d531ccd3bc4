"""Settings every test shares, and what must happen once before xdist's workers start."""
import pytest
import torch


def _runs_ponderttt_tests(config) -> bool:
    args = [str(a).rstrip("/") for a in config.args]
    return not args or any(a in ("tests", ".") or "ponderttt" in a for a in args)


def pytest_sessionstart(session):
    """The real PonderTTT backbone is fetched into one git-ignored cache the first time
    (ponderttt.backbone.ensure_smollm2); two xdist workers fetching it at once would write the
    same files. The controller fetches it once here, before the workers start; a failure is left
    to the tests that need the backbone to report."""
    config = session.config
    if hasattr(config, "workerinput") or not getattr(config.option, "numprocesses", None):
        return
    if not _runs_ponderttt_tests(config):
        return
    try:
        from ponderttt.backbone import ensure_smollm2
        ensure_smollm2()
    except Exception:  # noqa: BLE001 - the tests that need it say why, one by one
        pass


@pytest.fixture(autouse=True)
def _one_thread_and_seed():
    # Two cores on CI; one thread keeps runs steady, the seed keeps them repeatable.
    torch.set_num_threads(1)
    torch.manual_seed(0)
    yield
