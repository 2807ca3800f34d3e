"""KPI reads through the read API's service: a cache miss (the warehouse read) against a
cache hit (the `executive_kpis` strategy), on a data folder the pipeline has filled.

    SOPHIA_DATA_DIR=<a run demo's data dir> .venv/bin/python bench/kpi_cache.py \
        [--ranges 40] [--repeats 5]

Each of ``--ranges`` distinct 30-day windows is read once (every read a miss: the Redis
database is emptied first, and the cache-warming assets warm only the default window),
then each again ``--repeats`` times (hits). Redis is ``REDIS_URL``, by default database
15 of the local server (emptied first); unreachable, the in-process cache. Prints p50/p99
of both, the backend and the counts.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from datetime import timedelta
from pathlib import Path

import redis

sys.path.insert(0, str(Path(__file__).resolve().parent))

from machine import header  # noqa: E402

from sophia_pipeline.serving.dependencies import dependencies_for  # noqa: E402
from sophia_pipeline.serving.models import KpiRequest  # noqa: E402
from sophia_pipeline.serving.service import ReadService  # noqa: E402
from sophia_pipeline.settings import load_settings  # noqa: E402


def percentiles(samples: list[float]) -> dict[str, float]:
    ms = sorted(s * 1000 for s in samples)
    return {
        "p50_ms": round(statistics.median(ms), 2),
        "p99_ms": round(ms[min(len(ms) - 1, int(0.99 * len(ms)))], 2),
        "n": len(ms),
    }


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--ranges", type=int, default=40)
    ap.add_argument("--repeats", type=int, default=5)
    args = ap.parse_args()
    # A Redis database of the bench's own (never the pipeline's db 0), emptied first so
    # that every first read misses.
    os.environ.setdefault("REDIS_URL", "redis://127.0.0.1:6379/15")
    settings = load_settings()
    deps = dependencies_for(settings)
    backend = deps.cache.connect()
    if type(backend).__name__ == "RedisCache":
        redis.Redis.from_url(os.environ["REDIS_URL"]).flushdb()
    service = ReadService(deps)
    newest = service.get_kpis(KpiRequest(start=None, end=None)).end
    if newest is None:
        raise SystemExit("no KPI rollups in this data folder: run the pipeline first")
    windows = [
        (newest - timedelta(days=29 + i), newest - timedelta(days=i)) for i in range(args.ranges)
    ]
    misses: list[float] = []
    hits: list[float] = []
    for start, end in windows:
        t = time.perf_counter()
        first = service.get_kpis(KpiRequest(start=start, end=end))
        misses.append(time.perf_counter() - t)
        for _ in range(args.repeats):
            t = time.perf_counter()
            again = service.get_kpis(KpiRequest(start=start, end=end))
            hits.append(time.perf_counter() - t)
            assert again == first
    print(
        json.dumps(
            {
                **header(),
                "data_dir": str(settings.data_dir),
                "cache_backend": type(backend).__name__,
                "days_per_read": 30,
                "miss_warehouse_read": percentiles(misses),
                "hit_cache": percentiles(hits),
                "hit_over_miss_p50": round(statistics.median(hits) / statistics.median(misses), 3),
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    main()
