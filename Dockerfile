# Liftoff: one image for web, worker and beat (docker-compose.yml picks the command).
FROM python:3.13-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    UV_PROJECT_ENVIRONMENT=/opt/venv \
    UV_PYTHON_DOWNLOADS=never \
    PATH="/opt/venv/bin:$PATH" \
    LIFTOFF_DATA_DIR=/data \
    STATIC_ROOT=/app/staticfiles

# git: the workers drive repositories with GitPython, which runs the git binary.
RUN apt-get update \
    && apt-get install -y --no-install-recommends git \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --create-home --uid 1000 liftoff \
    && mkdir -p /data && chown liftoff /data

WORKDIR /app
COPY pyproject.toml uv.lock ./
RUN pip install --no-cache-dir uv==0.13.9 \
    && uv sync --frozen --no-dev --no-install-project \
    && pip uninstall -y uv

COPY . .
# Static files are collected at build time; whitenoise serves them compressed.
RUN DEBUG=0 SECRET_KEY=build-only-not-secret ALLOWED_HOSTS=localhost LIFTOFF_DATA_DIR=/tmp/build \
    python manage.py collectstatic --no-input --verbosity 0 \
    && rm -rf /tmp/build

USER liftoff
EXPOSE 8000
CMD ["gunicorn", "liftoff.wsgi", "--bind", "0.0.0.0:8000", "--workers", "3", "--access-logfile", "-"]
