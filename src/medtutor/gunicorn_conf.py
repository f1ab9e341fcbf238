"""gunicorn settings that need code: metrics of a worker that exits are merged, not lost or double-counted."""


def child_exit(server, worker) -> None:  # noqa: ANN001 - gunicorn's hook signature
    import os

    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(worker.pid)
