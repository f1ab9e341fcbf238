"""Operations: backups and restores, readiness, deployment checks."""
