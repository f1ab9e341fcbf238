# medtutor app server. One image runs the web process (default) or the scheduler (`medtutor jobs run --loop 15`).
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_DISABLE_PIP_VERSION_CHECK=1 \
    MEDTUTOR_VAR_DIR=/var/lib/medtutor
RUN apt-get update && apt-get install -y --no-install-recommends postgresql-client \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --system --home /var/lib/medtutor --create-home medtutor
WORKDIR /app
COPY pyproject.toml requirements.lock README.md ./
COPY src ./src
COPY demo ./demo
RUN pip install --no-cache-dir -c requirements.lock .
USER medtutor
EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=5s CMD python -c "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/readyz', timeout=4)"
CMD ["medtutor", "serve", "--host", "0.0.0.0", "--port", "8000", "--workers", "3"]
