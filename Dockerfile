# Image for the api and the action server (the same application venv serves both).
FROM python:3.11.7-slim-bookworm
WORKDIR /app
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1
COPY pyproject.toml ./
COPY requirements/app-constraints.txt ./requirements/
COPY api ./api
COPY actions ./actions
COPY devstack ./devstack
RUN pip install --no-cache-dir -c requirements/app-constraints.txt .
USER nobody
EXPOSE 8000 5055
CMD ["uvicorn", "api.main:create_app", "--factory", "--host", "0.0.0.0", "--port", "8000"]
