"""gunicorn settings that need code: metrics of a worker that exits are merged, not lost or double-counted."""


def child_exit(server, worker) -> None:  # noqa: ANN001 - gunicorn's hook signature
    import os

    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(worker.pid)


def post_worker_init(worker) -> None:  # noqa: ANN001 - gunicorn's hook signature
    """Train the virtual patient's intent classifier (about a second) before the first question needs it,
    in the background so the worker starts answering at once."""
    import threading

    def warm() -> None:
        from medtutor.simulation.engine.intent import default_classifier

        default_classifier()

    threading.Thread(target=warm, name="warm-intent-classifier", daemon=True).start()
