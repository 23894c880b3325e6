"""pytest options shared by all tests: `slow` and `gpu` markers, mirroring nbdev's tst_flags."""
import os

os.environ.setdefault("OMP_NUM_THREADS", "1")   # before torch: `pytest -n auto` runs one process per core, one thread each
import signal

import pytest
import torch

# A shell starts a background job (`.ci/run &`, nohup, cron) with Ctrl-C ignored, and every process it starts inherits
# that: the Ctrl-C tests would then send SIGINT to tools that never see it. Here Ctrl-C is Python's default again, so the
# tools these tests start receive it as they would from a terminal.
if signal.getsignal(signal.SIGINT) is signal.SIG_IGN: signal.signal(signal.SIGINT, signal.default_int_handler)


def pytest_addoption(parser):
    parser.addoption("--runslow", action="store_true", default=False, help="run tests marked slow")


def pytest_collection_modifyitems(config, items):
    skip_slow = pytest.mark.skip(reason="slow: pass --runslow to run")
    skip_gpu = pytest.mark.skip(reason="gpu: no CUDA device on this machine")
    for item in items:
        if "slow" in item.keywords and not config.getoption("--runslow"):
            item.add_marker(skip_slow)
        if "gpu" in item.keywords and not torch.cuda.is_available():
            item.add_marker(skip_gpu)
