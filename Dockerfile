# appeal-bot as a container: the bot and its locked runtime dependencies, nothing else.
#
#     docker build -t appeal-bot .
#     docker run -d --env-file .env -v appeal-data:/data -p 127.0.0.1:8080:8080 appeal-bot
#
# deploy/compose.yaml runs it in webhook mode behind Caddy; see "Deploying" in README.md.
# The database lives on the /data volume. Settings come from the environment (--env-file,
# compose's env_file); this image sets HOST, PORT and DATABASE_PATH, and a .env that sets them
# too wins, so leave those three out of it.

ARG PYTHON_IMAGE=python:3.11-slim

# --- build: a virtual environment with the pinned dependencies and the bot ---------------
FROM ${PYTHON_IMAGE} AS build
ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_ROOT_USER_ACTION=ignore
# No pip or setuptools inside the venv: the base image's pip installs into it.
RUN python -m venv --without-pip /opt/venv
WORKDIR /src
# Dependencies first, in their own layer: a change to the code does not reinstall them.
COPY requirements.lock ./
RUN pip --python /opt/venv/bin/python install --no-deps --require-virtualenv -r requirements.lock
COPY pyproject.toml README.md ./
COPY tgbot ./tgbot
COPY handlers ./handlers
COPY locales ./locales
RUN pip --python /opt/venv/bin/python install --require-virtualenv -c requirements.lock . \
    && pip --python /opt/venv/bin/python check

# --- run: the slim base, the venv, an unprivileged user ----------------------------------
FROM ${PYTHON_IMAGE}
RUN groupadd --system --gid 10001 appeal \
    && useradd --system --uid 10001 --gid appeal --home-dir /nonexistent --no-create-home \
       --shell /usr/sbin/nologin appeal \
    && mkdir /data /app \
    && chown appeal:appeal /data
COPY --from=build /opt/venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    DATABASE_PATH=/data/appeal.sqlite3 \
    HOST=0.0.0.0 \
    PORT=8080
# An empty working directory: the bot reads a .env from it, and there must be none.
WORKDIR /app
VOLUME ["/data"]
USER appeal:appeal
EXPOSE 8080
# Liveness (GET /healthz answers while the process and its event loop do). slim has no curl.
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
    CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:' + os.environ.get('PORT', '8080') + '/healthz', timeout=4)"]
# Stops cleanly on SIGTERM (docker stop): updates already fetched are answered first.
STOPSIGNAL SIGTERM
CMD ["python", "-m", "tgbot"]
