# syntax=docker/dockerfile:1
# The gridbill server image: `gridbill serve` by default, `gridbill worker` for jobs.
# Built and run by docker-compose.yml. Needs BuildKit (the default since Docker 23).
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_ROOT_USER_ACTION=ignore

# An unprivileged user that owns only the data directory (bill PDFs, photos).
RUN groupadd --system --gid 10001 gridbill \
    && useradd --system --uid 10001 --gid gridbill --no-create-home \
        --home-dir /var/lib/gridbill --shell /usr/sbin/nologin gridbill \
    && install -d -o gridbill -g gridbill -m 0750 /var/lib/gridbill

# The source is bind-mounted for the install only, so no copy of it stays in a layer.
# .dockerignore keeps .git, virtualenvs, var/ and local secrets out of the context.
RUN --mount=type=bind,target=/src,readwrite \
    --mount=type=cache,target=/root/.cache/pip \
    cd /src && pip install .

# Production unless told otherwise: a missing GRIDBILL_SECRET_KEY is then an error,
# never a generated key that changes with every container.
ENV GRIDBILL_ENV=production \
    GRIDBILL_VAR_DIR=/var/lib/gridbill

USER 10001:10001
WORKDIR /var/lib/gridbill
EXPOSE 8000

CMD ["gridbill", "serve", "--host", "0.0.0.0", "--port", "8000"]
