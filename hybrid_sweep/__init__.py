"""hybrid_sweep: batch composition sweeps for multilingual dense retrieval (see README.md, ARCHITECTURE.md).

OpenMP reads its wait policy once, when torch loads, so it is set here, before any module imports torch:
passive waiting keeps a job's idle threads off the cores another job (or the test suite) needs; on this
2-core machine spin-waiting made a me5-small step 30-50x slower. Export OMP_WAIT_POLICY=ACTIVE to opt out.
"""
import os

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
