# Baton's image: one image, several roles (api, worker, migrate) chosen by the command.
FROM python:3.12-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

WORKDIR /app
COPY pyproject.toml README.md ./
COPY core ./core
COPY integrations ./integrations
COPY activities ./activities
COPY worker ./worker
COPY api ./api
COPY baton ./baton
COPY migrations ./migrations
RUN pip install . && useradd --create-home --uid 10001 baton

USER baton
ENV ENVIRONMENT=production API_HOST=0.0.0.0 API_PORT=8000
EXPOSE 8000
HEALTHCHECK --interval=15s --timeout=3s --retries=5 \
  CMD python -c "import urllib.request,sys; sys.exit(urllib.request.urlopen('http://127.0.0.1:8000/healthz').status != 200)"
CMD ["baton", "api"]
