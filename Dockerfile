# One image for the four services and the gateway; docker-compose.yml picks the command.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PYTHONPATH=/app \
    DATA_DIR=/app/var

WORKDIR /app

# Dependencies first, so a code change does not reinstall them.
COPY requirements.txt .
RUN pip install -r requirements.txt

# The code belongs to root and is read-only to the app user; only the data folder is writable.
RUN useradd --system --uid 10001 --user-group --create-home --home-dir /home/app app
COPY . .
RUN mkdir -p /app/var && chown app:app /app/var

USER app
EXPOSE 8000
CMD ["python", "-m", "gateway.main"]
