"""`medtutor bench import`: import throughput and search latency, ours beside a baseline.

Ours: the bulk import path every door uses (parse the whole file, validate, write in batches in one
transaction). Baseline, same run and database: importing the same records one at a time through
save_item (one transaction and index update per item, as a naive per-row importer does). Search:
our normalised index column against an unindexed scan of stems, options and explanations.
"""

from __future__ import annotations

import random
import statistics
import time
from collections.abc import Iterator
from pathlib import Path

from django.db import connection, transaction
from django.db.models import Q

from medtutor.content import services
from medtutor.content.importers import detect_format, parse
from medtutor.content.importers.records import ImportBundle
from medtutor.content.models import Item, ItemVersion


def _files(path: Path) -> list[Path]:
    if path.is_dir():
        return sorted(p for p in path.iterdir() if p.suffix in {".jsonl", ".json", ".xml", ".csv", ".gift", ".txt"}
                      and p.name.lower() != "readme.md")
    return [path]


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def run_import_benchmark(path: Path, *, fmt: str | None, baseline_items: int, searches: int,
                         seed: int = 7) -> Iterator[str]:
    files = _files(path)
    if not files:
        yield f"no question files in {path}"
        return
    bundles: list[tuple[Path, str, ImportBundle]] = []
    parse_seconds = 0.0
    total_bytes = 0
    for file in files:
        data = file.read_bytes()
        total_bytes += len(data)
        file_fmt = fmt or detect_format(file.name, data[:4096])
        start = time.perf_counter()
        bundles.append((file, file_fmt, parse(data, file_fmt, filename=file.name)))
        parse_seconds += time.perf_counter() - start
    n_items = sum(len(b.items) for _, _, b in bundles)
    yield f"files: {', '.join(f.name for f in files)}  ({n_items} items, {total_bytes / 1e6:.1f} MB, {connection.vendor})"

    start = time.perf_counter()
    for file, file_fmt, bundle in bundles:
        services.import_bundle(bundle, actor=None, filename=file.name, fmt=file_fmt)
    import_seconds = time.perf_counter() - start

    # Baseline: the first N records again under fresh ids, one save_item (and transaction) each.
    sample = [item for _, _, b in bundles for item in b.items][:baseline_items]
    from dataclasses import replace

    start = time.perf_counter()
    for record in sample:
        with transaction.atomic():
            services.save_item(None, replace(record, external_id="baseline-" + record.external_id), actor=None,
                               audit_change=False)
    baseline_seconds = time.perf_counter() - start

    yield ""
    yield f"{'import':<34}{'items/s':>12}{'seconds':>10}"
    yield f"{'ours: parse only':<34}{n_items / parse_seconds:>12,.0f}{parse_seconds:>10.2f}"
    yield f"{'ours: parse + validate + write':<34}{n_items / (parse_seconds + import_seconds):>12,.0f}{parse_seconds + import_seconds:>10.2f}"
    yield f"{'baseline: one item per transaction':<34}{len(sample) / baseline_seconds:>12,.0f}{baseline_seconds:>10.2f}  (first {len(sample)} items)"

    rng = random.Random(seed)
    words = [w for w in " ".join(r.stem for r in sample[:200]).lower().split() if len(w) > 5 and w.isalpha()]
    queries = [" ".join(rng.sample(words, k=rng.choice((1, 2)))) for _ in range(searches)] if words else []
    ours: list[float] = []
    naive: list[float] = []
    hits = 0
    for query in queries:
        start = time.perf_counter()
        found = list(Item.objects.active().search(query).values_list("pk", flat=True)[:25])
        ours.append((time.perf_counter() - start) * 1000)
        hits += bool(found)
        start = time.perf_counter()
        scan = ItemVersion.objects.all()
        for term in query.split():
            scan = scan.filter(Q(stem__icontains=term) | Q(options__icontains=term) | Q(explanation__icontains=term))
        list(scan.values_list("pk", flat=True)[:25])
        naive.append((time.perf_counter() - start) * 1000)
    if queries:
        yield ""
        yield f"{'search over ' + str(Item.objects.count()) + ' items':<34}{'p50 ms':>12}{'p95 ms':>10}"
        yield f"{'ours: normalised index column':<34}{statistics.median(ours):>12.2f}{_percentile(ours, 0.95):>10.2f}"
        yield f"{'baseline: scan of versions':<34}{statistics.median(naive):>12.2f}{_percentile(naive, 0.95):>10.2f}"
        yield f"({len(queries)} queries of 1-2 words from the stems; {hits} found at least one item)"
